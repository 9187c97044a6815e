import { randomBytes } from 'node:crypto';
import { sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { validateName, validateRemotePath } from '../target/quote.ts';
import { loadScript, runScript } from '../target/scripts.ts';
import type { Target } from '../target/types.ts';

/**
 * Board-side mechanics every V4L2 request-API client on a board needs,
 * whatever the client (GStreamer's v4l2codecs elements today; a second
 * client such as FFmpeg's v4l2_request hwaccel or a small C client later):
 * the vector files staged on the board once (content-addressed), a wrapper
 * that runs the client while sampling which /dev/media* and /dev/video*
 * nodes it holds (the proof of the device used, from /proc/PID/fd) and
 * streams its output file, and the wait for a killed client to release the
 * device. V4L2 device discovery per driver is in backends/gstElements.ts
 * (sysfs `/sys/class/video4linux/videoN/device/driver`).
 */

/** Board directory for vectors and the transient output file. */
export const REMOTE_DIR = '/tmp/wb-decode';

/**
 * Board path of a vector file, content-addressed: `REMOTE_DIR/<sha256>/<name>`
 * (the name kept so reproducer lines stay readable). A file is only ever
 * written there by a rename after its SHA-256 was verified, so a path that
 * exists holds exactly that content; vectors are uploaded once and reused by
 * later vectors and later runs while the board's /tmp lives.
 */
export function remoteInputPath(sha256: string, name: string): string {
  validateName(name, 'vector name');
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new WorkbenchError('E_INTERNAL', `not a SHA-256: ${sha256}`);
  return validateRemotePath(`${REMOTE_DIR}/${sha256}/${name}`);
}

/**
 * Remote script `requestDecode.sh OUTPUT GST_DEBUG CLIENT [ARG...]`: runs the
 * client, streams OUTPUT to stdout, writes `WB-GST-PID`, `WB-OPENED <device>`
 * (the nodes the client held, from /proc/PID/fd) and `WB-EXIT <rc>` to
 * stderr (see the file).
 */
export const DECODE = loadScript(import.meta.url, 'requestDecode.sh');

/**
 * Remote sh one-liner: which of the content-addressed vector files exist.
 * Arguments: remote paths. Prints `HAVE <path>` per existing regular file.
 */
const HAVE_INPUTS_SCRIPT = `for f in "$@"; do [ -f "$f" ] && echo "HAVE $f"; done; true`;

/** Remote script `requestCommitInputs.sh [TMP FINAL]...`: renames uploads to their content-addressed names, `MOVED <final>` each. */
const COMMIT_INPUTS = loadScript(import.meta.url, 'requestCommitInputs.sh');

/** Remote script `requestWaitRelease.sh DEVICE MAX_CHECKS`: `FREE <checks>` or `BUSY ...` (see the file). */
const WAIT_RELEASE = loadScript(import.meta.url, 'requestWaitRelease.sh');

/** Markers requestDecode.sh writes to stderr, split from the client's own output. */
export interface WatchedRunMarkers {
  /** Device nodes the client held open while it ran. */
  opened: string[];
  /** The client's exit code, when the script lived to print it. */
  exit?: number;
  /** stderr lines without the markers. */
  lines: string[];
}

/** Splits the `WB-OPENED`, `WB-EXIT` and `WB-GST-PID` markers of requestDecode.sh out of stderr. */
export function parseWatchMarkers(stderr: string): WatchedRunMarkers {
  const opened: string[] = [];
  let exit: number | undefined;
  const lines: string[] = [];
  for (const line of stderr.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^WB-OPENED (\S+)$/.exec(line))) opened.push(m[1]!);
    else if ((m = /^WB-EXIT (\d+)$/.exec(line))) exit = Number(m[1]);
    else if (/^WB-GST-PID \d+$/.test(line)) continue;
    else lines.push(line);
  }
  return { opened, ...(exit !== undefined ? { exit } : {}), lines };
}

/**
 * Vector files on one board (content-addressed, {@link remoteInputPath}):
 * one round trip finds those already there, the others are uploaded
 * (SHA-256 verified) to a temporary name and renamed in one more round
 * trip. Files staged before through this object cost nothing.
 */
export class BoardInputs {
  /** Local file -> its board path, for files known to be on the board. */
  private readonly staged = new Map<string, string>();

  constructor(private readonly target: Target) {}

  /** Board path of a staged local file (undefined when not staged). */
  pathOf(local: string): string | undefined {
    return this.staged.get(local);
  }

  /**
   * Puts the files on the board.
   * @param files local path -> vector name (validated: it becomes part of the board path).
   * @throws WorkbenchError `E_TRANSFER` and the Target's errors.
   */
  async stage(files: ReadonlyMap<string, string>): Promise<void> {
    const want = new Map<string, string>();
    for (const [local, name] of files) if (!this.staged.has(local)) want.set(local, remoteInputPath(await sha256File(local), name));
    if (!want.size) return;
    const have = await this.target.exec(['sh', '-c', HAVE_INPUTS_SCRIPT, 'wb-have', ...want.values()]);
    const present = new Set(
      have.stdout
        .split('\n')
        .filter((l) => l.startsWith('HAVE '))
        .map((l) => l.slice(5)),
    );
    const moves: string[] = [];
    for (const [local, remote] of want) {
      if (present.has(remote)) continue;
      const tmp = validateRemotePath(`${REMOTE_DIR}/.part-${randomBytes(6).toString('hex')}`);
      if (!moves.length) await this.target.exec(['mkdir', '-p', REMOTE_DIR]);
      await this.target.upload(local, tmp);
      moves.push(tmp, remote);
    }
    if (moves.length) {
      const r = await runScript(this.target, COMMIT_INPUTS, moves);
      const moved = new Set(
        r.stdout
          .split('\n')
          .filter((l) => l.startsWith('MOVED '))
          .map((l) => l.slice(6)),
      );
      for (let i = 1; i < moves.length; i += 2) {
        if (!moved.has(moves[i]!))
          throw new WorkbenchError('E_TRANSFER', `${this.target.name}: could not move ${moves[i - 1]} to ${moves[i]}: ${r.stderr.trim()}`, {
            hint: "is the board's /tmp full or read-only?",
          });
      }
    }
    for (const [local, remote] of want) this.staged.set(local, remote);
  }
}

/**
 * Waits until no thread holds `device` on the board (a decoder killed while
 * the kernel still runs its job stays until the job ends).
 * @returns ms waited and the kernel stacks of threads that were stuck (D state) when the wait began.
 * @throws WorkbenchError `E_BOARD_BUSY` when the device is still held after
 *   `waitMs`: the next vector could not run.
 */
export async function waitRelease(target: Target, device: string, waitMs: number): Promise<{ ms: number; stuck: string[] }> {
  const started = Date.now();
  const checks = Math.ceil(waitMs / 200);
  const r = await runScript(target, WAIT_RELEASE, [device, String(checks)], { timeoutMs: waitMs + 60_000 });
  const out = r.stdout
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('STACK '))
    .join(' ');
  if (out.startsWith('BUSY')) {
    throw new WorkbenchError(
      'E_BOARD_BUSY',
      `board ${target.name}: ${device} is still held by${out.slice(4)} (pid/task/tid(state)) ${waitMs} ms after the decoder was killed`,
      {
        hint: 'the process is stuck in the kernel (D state); check `cat /proc/PID/stack` and the kernel log, or reboot the board',
      },
    );
  }
  const stuck = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('STACK '))
    .map((l) => l.slice(6).trim());
  return { ms: Date.now() - started, stuck };
}

/** Output file of a decode on the board (the wrapper streams it while it grows and removes it). */
export function remoteOutputPath(vectorName: string): string {
  validateName(vectorName, 'vector name');
  return validateRemotePath(`${REMOTE_DIR}/${vectorName}.out.yuv`);
}
