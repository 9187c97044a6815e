import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { release } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/cache.ts';
import type { Runner } from '../core/runner.ts';

/** QEMU acceleration of the vboard. */
export type Accel = 'kvm' | 'tcg';

/**
 * Kernel command line of the guest. Besides the console: `mitigations=off`
 * (speculation mitigations only cost time in a TCG test guest; boot to SSH
 * went from ~22 s to ~13 s here) and `audit=0`. (`tsc=reliable` was tried
 * and dropped: one early-boot oops in sched_clock_cpu under multi-threaded
 * TCG; `panic=-1` makes QEMU exit on a panic so `up` notices at once.)
 */
export const GUEST_CMDLINE: readonly string[] = ['console=ttyS0', 'quiet', 'panic=-1', 'mitigations=off', 'audit=0'];

/** What {@link qemuArgv} needs. */
export interface QemuSpec {
  kernel: string;
  initrd: string;
  /** The guest's writable disk (raw ext4). */
  disk: string;
  /** Host port forwarded to guest port 22 (127.0.0.1 only). */
  sshPort: number;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  /** Serial console log file. */
  serialLog: string;
  /** PID file QEMU writes after daemonizing. */
  pidFile: string;
  /** Extra kernel command-line words (e.g. `vboard.authkey=...`). */
  append: string[];
}

/**
 * argv of the vboard QEMU: x86-64, software emulation (`-accel
 * tcg,thread=multi -cpu max`) unless KVM was detected to work, virtio disk
 * and network, user-mode networking with SSH forwarded on 127.0.0.1 only,
 * serial console to a file, no display, daemonized with a PID file.
 */
export function qemuArgv(s: QemuSpec): string[] {
  const accel = s.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
  return [
    'qemu-system-x86_64',
    ...accel,
    '-m',
    String(s.memoryMiB),
    '-smp',
    String(s.cpus),
    '-name',
    'workbench-vboard',
    '-nodefaults',
    '-kernel',
    s.kernel,
    '-initrd',
    s.initrd,
    '-append',
    [...GUEST_CMDLINE, ...s.append].join(' '),
    '-drive',
    `file=${s.disk},format=raw,if=virtio,cache=writeback`,
    '-netdev',
    `user,id=n0,hostfwd=tcp:127.0.0.1:${s.sshPort}-:22`,
    '-device',
    'virtio-net-pci,netdev=n0',
    '-device',
    'virtio-rng-pci',
    '-display',
    'none',
    '-vga',
    'none',
    '-serial',
    `file:${s.serialLog}`,
    '-monitor',
    'none',
    '-no-reboot',
    '-daemonize',
    '-pidfile',
    s.pidFile,
  ];
}

/** A free TCP port on 127.0.0.1 (bound then released; QEMU may still lose a race, the caller retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Result of the KVM probe, cached per host kernel, QEMU and guest kernel. */
interface KvmProbe {
  hostKernel: string;
  qemu: string;
  guestKernel: string;
  works: boolean;
  detail: string;
}

/**
 * Decides whether KVM can run the vboard kernel: `/dev/kvm` must be
 * read/writable AND a probe boot (`vboard.probe=1`: the initramfs prints
 * VBOARD-PROBE-OK and powers off) must succeed within 30 s. On some hosts
 * /dev/kvm exists but the guest dies with "KVM internal error" (vboard
 * NOTES.md), so existence alone is not enough. The answer is remembered in
 * `<stateDir>/kvm-probe.json` per (host kernel, QEMU version, guest kernel).
 * `WORKBENCH_VBOARD_ACCEL=tcg|kvm` forces a choice.
 */
export async function chooseAccel(
  runner: Runner,
  stateDir: string,
  guest: { kernel: string; initrd: string; kernelRelease: string },
  log?: (s: string) => void,
): Promise<{ accel: Accel; detail: string }> {
  const forced = process.env.WORKBENCH_VBOARD_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return { accel: forced, detail: 'forced by WORKBENCH_VBOARD_ACCEL' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', detail: '/dev/kvm not usable' };
  }
  const ver = (await runner.run(['qemu-system-x86_64', '--version'], { allowFailure: true })).stdout.split('\n')[0] ?? '';
  const file = join(stateDir, 'kvm-probe.json');
  if (existsSync(file)) {
    try {
      const p = JSON.parse(readFileSync(file, 'utf8')) as KvmProbe;
      if (p.hostKernel === release() && p.qemu === ver && p.guestKernel === guest.kernelRelease) {
        return { accel: p.works ? 'kvm' : 'tcg', detail: `cached probe: ${p.detail}` };
      }
    } catch {
      /* re-probe */
    }
  }
  log?.('probing whether KVM can run the guest kernel (once per host/QEMU/kernel)');
  const r = await runner.run(
    [
      'qemu-system-x86_64',
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '256',
      '-smp',
      '1',
      '-nodefaults',
      '-kernel',
      guest.kernel,
      '-initrd',
      guest.initrd,
      '-append',
      'console=ttyS0 quiet panic=-1 vboard.probe=1',
      '-display',
      'none',
      '-vga',
      'none',
      '-serial',
      'stdio',
      '-monitor',
      'none',
      '-no-reboot',
    ],
    { allowFailure: true, timeoutMs: 30_000 },
  );
  const works = r.stdout.includes('VBOARD-PROBE-OK') && !/KVM internal error/i.test(r.stdout + r.stderr);
  const detail = works
    ? 'KVM probe boot succeeded'
    : `KVM probe failed (${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}${/KVM internal error/i.test(r.stdout + r.stderr) ? ', KVM internal error' : ''}); using TCG`;
  const p: KvmProbe = { hostKernel: release(), qemu: ver, guestKernel: guest.kernelRelease, works, detail };
  await writeFileAtomic(file, JSON.stringify(p, null, 2));
  return { accel: works ? 'kvm' : 'tcg', detail };
}
