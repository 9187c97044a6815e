import { randomBytes } from 'node:crypto';
import { WorkbenchError } from '../../core/errors.ts';
import { validateName } from '../../target/quote.ts';
import { loadScript, runScript } from '../../target/scripts.ts';
import type { Target } from '../../target/types.ts';
import { parseDumpListing, type BitstreamDump } from './bitstreamCheck.ts';
import { parseFtrace, type FtraceText } from './ftrace.ts';

/**
 * Board side of visl mode, per vector:
 * 1. reload visl with the bitstream dump parameters (they are load-time only:
 *    `module_param(..., 0)` in visl-core.c; dumps are named by the OUTPUT
 *    sequence, which restarts at every STREAMON, so dumps of the previous
 *    vector would collide by name and must go with the module),
 * 2. arm the `visl_vp9_controls/v4l2_ctrl_vp9_frame` trace event on an empty
 *    ring buffer,
 * 3. after the decode: stop tracing, read the trace, list the dumps (size +
 *    SHA-256, computed on the board).
 * Steps 1-2 plus the vector's kernel-log marker are one remote script
 * (vislPrepare.sh), step 3 plus the kernel log (and the release of
 * the board lock) another (vislCollect.sh): two round trips per
 * vector instead of five (each ~0.3-0.6 s on the TCG vboard).
 *
 * Why reload at all: `keep_bitstream_buffers` and the dump window are
 * load-time parameters (0444), dumps are cleared only on module removal
 * (or at STREAMOFF without keep), and debugfs files cannot be removed or
 * renamed from user space; a second vector's `bitstream0` would fail to be
 * created (-EEXIST) and the check would read the first vector's dump.
 */

/** Debugfs directory of visl's bitstream dumps (visl-debugfs.c). */
export const BITSTREAM_DIR = '/sys/kernel/debug/visl/bitstream';

/** Ring buffer size per CPU while tracing a vector, KiB (one v4l2_ctrl_vp9_frame record is ~1 KiB of text). */
export const TRACE_BUFFER_KB = 16384;

/** Remote script `vislPrepare.sh MARKER TRACE_KB NFRAMES [NAME=VALUE...]`: reload, arm the trace, write the marker (see the file). */
const PREPARE = loadScript(import.meta.url, 'vislPrepare.sh');

/**
 * Remote script `vislCollect.sh TRACEFS BITSTREAM_DIR NONCE KERNEL_LOG [LOCK_DIR]`:
 * trace, dump listing, kernel log, each after a `WB-SECTION-<nonce> <name>`
 * line, then the lock release (see the file).
 */
const COLLECT = loadScript(import.meta.url, 'vislCollect.sh');

/** Splits the output of vislCollect.sh into its sections (the `end` section holds the lock line). */
export function splitSections(stdout: string, nonce: string): Map<string, string> {
  const out = new Map<string, string>();
  const head = `WB-SECTION-${nonce} `;
  let name: string | undefined;
  let buf: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith(head)) {
      if (buf.at(-1) === '') buf.pop(); // the newline printed before the section line
      if (name !== undefined) out.set(name, buf.join('\n'));
      name = line.slice(head.length);
      buf = [];
    } else if (name !== undefined) buf.push(line);
  }
  if (buf.at(-1) === '') buf.pop();
  if (name !== undefined) out.set(name, buf.join('\n'));
  return out;
}

/** What {@link VislSession.collect} returns. */
export interface VislCollected {
  trace: FtraceText;
  dumps: BitstreamDump[];
  /** False when visl's debugfs directory is missing (CONFIG_VISL_DEBUGFS off or debugfs not mounted). */
  dumpsAvailable: boolean;
  /** Raw trace text (kept for the report's log artifact). */
  traceText: string;
  /** Kernel log text (`dmesg -r`) when asked for. */
  kernelLogText?: string;
  /** The lock directory given to {@link VislSession.collect} was removed. */
  lockReleased: boolean;
}

/** visl mode for one vector on one board. */
export class VislSession {
  private tracefs: string | undefined;
  /** visl's video node after the reload. */
  videoNode: string | undefined;

  constructor(private readonly target: Target) {}

  /**
   * Reloads visl (dumps for `frames` frames; `params` are extra module
   * parameters such as `visl_transtime_ms=20000`), arms the trace event and
   * writes `marker` (a whole kernel-log marker line, see irq/kernelLog.ts)
   * into the kernel log, in one round trip. `events`: `frame` arms
   * visl_vp9_controls/v4l2_ctrl_vp9_frame only (what the controls check
   * reads); `all` every event of the group (also the compressed header,
   * coefficient and MV probabilities: visl-trace-vp9.h), about 8 KiB of
   * trace text per frame.
   * @returns whether the marker was written.
   * @throws WorkbenchError `E_BOARD_BUSY` (visl still in use),
   *   `E_VISL` (load failed, trace events missing).
   */
  async prepare(frames: number, params: Record<string, string | number> = {}, marker = '', events: 'frame' | 'all' = 'frame'): Promise<{ marked: boolean }> {
    const extra = Object.entries(params).map(([k, v]) => {
      validateName(k, 'visl module parameter');
      if (!/^[A-Za-z0-9_.-]+$/.test(String(v))) throw new WorkbenchError('E_BAD_NAME', `visl parameter ${k} value '${v}' is not a plain value`);
      return `${k}=${v}`;
    });
    const r = await runScript(
      this.target,
      PREPARE,
      [marker.replace(/[\x00-\x1f\x7f]/g, ' '), String(TRACE_BUFFER_KB), events, String(Math.max(frames, 1)), ...extra],
      {
        timeoutMs: 90_000,
      },
    );
    const lines = r.stdout.split('\n').map((l) => l.trim());
    const out = lines[0] ?? '';
    if (out.startsWith('VISL-BUSY')) {
      throw new WorkbenchError(
        'E_BOARD_BUSY',
        `board ${this.target.name}: visl is still in use (refcnt ${out.slice(10) || '?'}); cannot reload it for the bitstream dumps`,
        {
          hint: 'a previous decoder may still be stuck in the kernel; wait or reboot the vboard (`workbench vboard down && workbench vboard up`)',
        },
      );
    }
    if (!out.startsWith('VISL-NODE ')) {
      throw new WorkbenchError('E_VISL', `board ${this.target.name}: loading visl failed: ${out.replace(/^VISL-LOAD-FAILED\s*/, '')}`, {
        hint: 'is visl.ko installed on the board (modinfo visl)?',
      });
    }
    this.videoNode = out.slice('VISL-NODE '.length);
    const to = lines[1] ?? '';
    if (!to.startsWith('TRACE ')) {
      throw new WorkbenchError('E_VISL', `board ${this.target.name}: visl's trace event visl_vp9_controls/v4l2_ctrl_vp9_frame is not available`, {
        hint: 'tracefs must be mounted (/sys/kernel/tracing) and visl built with its trace points',
      });
    }
    this.tracefs = to.slice('TRACE '.length);
    return { marked: lines.includes('MARKED') };
  }

  /**
   * Stops tracing and reads the trace, the dump listing and (with
   * `kernelLog`) the kernel log in one round trip; removes `releaseLock`
   * (the board lock directory) at the end when given.
   */
  async collect(opts: { kernelLog?: boolean; releaseLock?: string } = {}): Promise<VislCollected> {
    if (!this.tracefs) throw new WorkbenchError('E_INTERNAL', 'VislSession.collect before prepare');
    const nonce = randomBytes(8).toString('hex');
    const r = await runScript(this.target, COLLECT, [this.tracefs, BITSTREAM_DIR, nonce, opts.kernelLog ? '1' : '0', opts.releaseLock ?? ''], {
      timeoutMs: 120_000,
    });
    const sec = splitSections(r.stdout, nonce);
    const traceText = sec.get('trace') ?? '';
    const ls = sec.get('dumps') ?? '';
    return {
      trace: parseFtrace(traceText),
      traceText,
      dumps: parseDumpListing(ls),
      dumpsAvailable: !ls.includes('NO-BITSTREAM-DIR'),
      ...(opts.kernelLog && sec.has('dmesg') ? { kernelLogText: sec.get('dmesg')! } : {}),
      lockReleased: (sec.get('end') ?? '').includes('LOCK-RELEASED'),
    };
  }
}
