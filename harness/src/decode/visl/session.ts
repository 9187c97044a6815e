import { WorkbenchError } from '../../core/errors.ts';
import { validateName } from '../../target/quote.ts';
import type { Target } from '../../target/types.ts';
import { LIST_DUMPS_SCRIPT, parseDumpListing, type BitstreamDump } from './bitstreamCheck.ts';
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
 */

/** Debugfs directory of visl's bitstream dumps (visl-debugfs.c). */
export const BITSTREAM_DIR = '/sys/kernel/debug/visl/bitstream';

/** Ring buffer size per CPU while tracing a vector, KiB (one v4l2_ctrl_vp9_frame record is ~1 KiB of text). */
export const TRACE_BUFFER_KB = 16384;

/**
 * Remote script: $1 nframes, then extra `name=value` module parameters.
 * Prints `VISL-BUSY`, `VISL-LOAD-FAILED <msg>` or `VISL-NODE /dev/videoN`.
 */
export const RELOAD_SCRIPT = `
n=$1; shift
if [ -d /sys/module/visl ]; then
  modprobe -r visl 2>/dev/null || { echo "VISL-BUSY $(cat /sys/module/visl/refcnt 2>/dev/null)"; exit 0; }
fi
msg=$(modprobe visl keep_bitstream_buffers=1 bitstream_trace_frame_start=0 bitstream_trace_nframes="$n" "$@" 2>&1) || { echo "VISL-LOAD-FAILED $msg"; exit 0; }
i=0
while [ $i -lt 50 ]; do
  for v in /sys/class/video4linux/video*; do
    [ -e "$v/device/driver" ] || continue
    d=$(readlink -f "$v/device/driver")
    [ "\${d##*/}" = visl ] && { echo "VISL-NODE /dev/\${v##*/}"; exit 0; }
  done
  i=$((i+1)); sleep 0.1
done
echo "VISL-LOAD-FAILED no video node bound to visl after loading"
`;

/** Remote script: arms the vp9 frame trace event. Prints `TRACE <tracefs>` or `NO-VISL-EVENTS`. */
export const ARM_TRACE_SCRIPT = `
T=/sys/kernel/tracing; [ -d "$T/events" ] || T=/sys/kernel/debug/tracing
[ -d "$T/events/visl_vp9_controls/v4l2_ctrl_vp9_frame" ] || { echo NO-VISL-EVENTS; exit 0; }
echo 0 > "$T/tracing_on"
echo "$1" > "$T/buffer_size_kb"
: > "$T/trace"
echo 1 > "$T/events/visl_vp9_controls/v4l2_ctrl_vp9_frame/enable"
echo 1 > "$T/tracing_on"
echo "TRACE $T"
`;

/** Remote script: stops tracing, prints the trace, disarms the event ($1 tracefs). */
export const COLLECT_TRACE_SCRIPT = `
T=$1
echo 0 > "$T/tracing_on"
cat "$T/trace"
echo 0 > "$T/events/visl_vp9_controls/v4l2_ctrl_vp9_frame/enable"
: > "$T/trace"
`;

/** What {@link VislSession.collect} returns. */
export interface VislCollected {
  trace: FtraceText;
  dumps: BitstreamDump[];
  /** False when visl's debugfs directory is missing (CONFIG_VISL_DEBUGFS off or debugfs not mounted). */
  dumpsAvailable: boolean;
  /** Raw trace text (kept for the report's log artifact). */
  traceText: string;
}

/** visl mode for one vector on one board. */
export class VislSession {
  private tracefs: string | undefined;
  /** visl's video node after the reload. */
  videoNode: string | undefined;

  constructor(private readonly target: Target) {}

  /**
   * Reloads visl (dumps for `frames` frames; `params` are extra module
   * parameters such as `visl_transtime_ms=20000`) and arms the trace event.
   * @throws WorkbenchError `E_BOARD_BUSY` (visl still in use),
   *   `E_VISL` (load failed, trace events missing).
   */
  async prepare(frames: number, params: Record<string, string | number> = {}): Promise<void> {
    const extra = Object.entries(params).map(([k, v]) => {
      validateName(k, 'visl module parameter');
      if (!/^[A-Za-z0-9_.-]+$/.test(String(v))) throw new WorkbenchError('E_BAD_NAME', `visl parameter ${k} value '${v}' is not a plain value`);
      return `${k}=${v}`;
    });
    const r = await this.target.exec(['sh', '-c', RELOAD_SCRIPT, 'wb-visl', String(Math.max(frames, 1)), ...extra], { timeoutMs: 60_000 });
    const out = r.stdout.trim();
    if (out.startsWith('VISL-BUSY')) {
      throw new WorkbenchError('E_BOARD_BUSY', `board ${this.target.name}: visl is still in use (refcnt ${out.slice(10) || '?'}); cannot reload it for the bitstream dumps`, {
        hint: 'a previous decoder may still be stuck in the kernel; wait or reboot the vboard (`workbench vboard down && workbench vboard up`)',
      });
    }
    if (!out.startsWith('VISL-NODE ')) {
      throw new WorkbenchError('E_VISL', `board ${this.target.name}: loading visl failed: ${out.replace(/^VISL-LOAD-FAILED\s*/, '')}`, {
        hint: 'is visl.ko installed on the board (modinfo visl)?',
      });
    }
    this.videoNode = out.slice('VISL-NODE '.length);
    const t = await this.target.exec(['sh', '-c', ARM_TRACE_SCRIPT, 'wb-trace', String(TRACE_BUFFER_KB)], { timeoutMs: 30_000 });
    const to = t.stdout.trim();
    if (!to.startsWith('TRACE ')) {
      throw new WorkbenchError('E_VISL', `board ${this.target.name}: visl's trace event visl_vp9_controls/v4l2_ctrl_vp9_frame is not available`, {
        hint: 'tracefs must be mounted (/sys/kernel/tracing) and visl built with its trace points',
      });
    }
    this.tracefs = to.slice('TRACE '.length);
  }

  /** Stops tracing and reads the trace and the dump listing. */
  async collect(): Promise<VislCollected> {
    if (!this.tracefs) throw new WorkbenchError('E_INTERNAL', 'VislSession.collect before prepare');
    const tr = await this.target.exec(['sh', '-c', COLLECT_TRACE_SCRIPT, 'wb-trace', this.tracefs], { timeoutMs: 120_000 });
    const ls = await this.target.exec(['sh', '-c', LIST_DUMPS_SCRIPT, 'wb-dumps', BITSTREAM_DIR], { timeoutMs: 120_000 });
    return {
      trace: parseFtrace(tr.stdout),
      traceText: tr.stdout,
      dumps: parseDumpListing(ls.stdout),
      dumpsAvailable: !ls.stdout.includes('NO-BITSTREAM-DIR'),
    };
  }
}
