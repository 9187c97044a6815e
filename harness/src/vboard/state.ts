import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateRoot } from '../core/paths.ts';
import { tail } from '../core/text.ts';

/**
 * Files of the virtual board under `<state>/vboard/` (state, not cache: the
 * guest disk changes as modules are deployed).
 */
export function vboardPaths(root: string = join(stateRoot(), 'vboard')) {
  return {
    dir: root,
    /** Running board facts ({@link RunState}); absent when stopped. */
    runFile: join(root, 'vboard.json'),
    /** PID file QEMU writes. */
    pidFile: join(root, 'qemu.pid'),
    serialLog: join(root, 'serial.log'),
    /** Serial log of the previous boot. */
    serialLogPrev: join(root, 'serial.log.1'),
    /** QEMU's own stderr of the last start. */
    qemuLog: join(root, 'qemu.log'),
    /** The guest's writable disk (a copy of the cached image). */
    disk: join(root, 'disk.ext4'),
    /** Which image the disk was made from ({@link DiskState}). */
    diskFile: join(root, 'disk.json'),
    /** The board's SSH client key (ed25519, generated once). */
    identity: join(root, 'id_ed25519'),
    /**
     * The workbench's known_hosts for this vboard (OpenSSH format, alias
     * `vboard`). Kept with the board's state rather than in the config
     * directory so two vboards (e.g. a test's own and the shared one) never
     * overwrite each other's recorded key.
     */
    knownHosts: join(root, 'known_hosts'),
    lock: join(root, 'up.lock'),
  };
}

/** Facts about a started board (`vboard.json`). */
export interface RunState {
  pid: number;
  port: number;
  imageKey: string;
  kernelRelease: string;
  accel: 'kvm' | 'tcg';
  startedAt: string;
  /** The QEMU argv (reproducer). */
  argv: string[];
}

/** Which image the guest disk was copied from (`disk.json`). */
export interface DiskState {
  imageKey: string;
  createdAt: string;
}

/** Reads a JSON file, undefined when absent or unreadable. */
export function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is alive AND is our QEMU: its /proc cmdline starts with a
 * qemu-system binary and names our PID file. Guards `down` against killing
 * an unrelated process that reused the PID.
 */
export function isOurQemu(pid: number, pidFile: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  let cmd: string[];
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  return /qemu-system/.test(cmd[0] ?? '') && cmd.includes(pidFile);
}

/** Last `n` lines of a text file ('' when absent). */
export function tailFile(file: string, n = 20): string {
  if (!existsSync(file)) return '';
  return tail(readFileSync(file, 'utf8').replace(/\r/g, ''), n);
}
