import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { tail } from '../core/text.ts';
import { validateName, validateRemotePath } from '../target/quote.ts';
import type { Target } from '../target/types.ts';
import { probeGst, selectElement, type GstProbe, type VP9Element } from './gstElements.ts';
import { selectedCaptureFormats } from './captureFormat.ts';
import { classifyGstFailure, driverOffers } from './gstFailure.ts';
import { registerDecoder, type DecodeRequest, type Decoder, type DecoderRun, type DeviceProof } from './registry.ts';

/**
 * GStreamer `v4l2slvp9dec` (gst-plugins-bad v4l2codecs) on the board: the
 * V4L2 stateless (request API) client Fluster and KernelCI use.
 *
 * Pipeline: `filesrc ! ivfparse|matroskademux ! vp9parse ! <element> !
 * videoconvert ! <planar caps> ! videocodectestsink location=<file>`.
 * videocodectestsink writes frames without stride padding (it reads the
 * GstVideoMeta strides), in planar layout; videoconvert turns the driver's
 * NV12 into I420 first so the sink writes whole rows (its NV12 path writes
 * chroma one byte at a time). GLib refuses to open a FIFO for that sink
 * (g_file_replace: "Target file is not a regular file"), so it writes a fresh
 * regular file in the board's temp directory and `tail -c +1 -F --pid`
 * streams that file to stdout while it grows; the file is removed at the end.
 * gst-launch's own output goes to stderr (`-m` prints the sink's
 * `conformance/checksum` MD5, used to cross-check the transport).
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

/** Planar formats videocodectestsink writes as-is (4:2:0/4:2:2/4:4:4, 8/10/12-bit). */
export const PLANAR_CAPS = 'video/x-raw,format={ I420, I420_10LE, I420_12LE, Y42B, I422_10LE, I422_12LE, Y444, Y444_10LE, Y444_12LE }';

/** GST_DEBUG used for every decode: v4l2codecs warnings and errors (they carry the driver's refusals). */
export const GST_DEBUG_SPEC = 'v4l2codecs-*:4';

/**
 * Remote sh script. $1 output file, $2 GST_DEBUG, then the gst-launch argv.
 * stdout: the decoded frames; stderr: gst output plus `WB-GST-PID`, then
 * after gst exited `WB-OPENED <device>` lines (media/video nodes the gst
 * process held, sampled from /proc/PID/fd every 20 ms while it ran, kept in
 * a side file so they cannot interleave with gst's own output) and
 * `WB-EXIT <rc>`. Creates the output's folder when missing (no separate
 * round trip). Measured on the vboard (TCG, 2 vCPUs): the sampler costs no
 * measurable decode time (p0-keyframe-only 1.9-2.5 s with it, 2.0-2.2 s
 * without; a fork-free variant was not faster).
 */
export const DECODE_SCRIPT = `
out=$1; dbg=$2; shift 2
fds="$out.fds"
[ -d "\${out%/*}" ] || mkdir -p "\${out%/*}" || exit 97
rm -f "$out" "$fds" || exit 97
GST_DEBUG=$dbg GST_DEBUG_NO_COLOR=1 "$@" >&2 &
gp=$!
echo "WB-GST-PID $gp" >&2
(
  : > "$fds"
  while kill -0 "$gp" 2>/dev/null; do
    ls -l /proc/"$gp"/fd 2>/dev/null | sed -n 's#.* -> \\(/dev/\\(media\\|video\\)[0-9]*\\)$#\\1#p' >> "$fds"
    sleep 0.02
  done
) &
wp=$!
tail -c +1 -s 0.05 --pid="$gp" -F "$out" 2>/dev/null
wait "$gp"; rc=$?
wait "$wp" 2>/dev/null
sort -u "$fds" | sed 's/^/WB-OPENED /' >&2
rm -f "$out" "$fds"
echo "WB-EXIT $rc" >&2
exit $rc
`;

/**
 * Remote sh script: which of the content-addressed vector files exist.
 * Arguments: remote paths. Prints `HAVE <path>` per existing regular file.
 */
export const HAVE_INPUTS_SCRIPT = `for f in "$@"; do [ -f "$f" ] && echo "HAVE $f"; done; true`;

/**
 * Remote sh script: moves uploaded temporary files to their content-addressed
 * names. Arguments: pairs `tmp final`. Prints `MOVED <final>` per file.
 */
export const COMMIT_INPUTS_SCRIPT = `
while [ $# -ge 2 ]; do
  mkdir -p "\${2%/*}" && mv -f "$1" "$2" && echo "MOVED $2"
  shift 2
done
true
`;

/**
 * Remote sh script: waits until no thread holds $1 open (checks every 0.2 s,
 * at most $2 checks). Threads, not processes: a killed decoder whose
 * streaming thread sleeps in the driver (D state, e.g. inside
 * MEDIA_REQUEST_IOC_QUEUE → device_run) leaves a zombie leader whose own
 * /proc/PID/fd is empty while /proc/PID/task/TID/fd still holds the device.
 * Prints `FREE <checks>` or `BUSY pid/task/tid(state)...`.
 */
export const WAIT_RELEASE_SCRIPT = `
dev=$1; max=$2; i=0
while :; do
  busy=""
  for f in $(find /proc/[0-9]*/task/[0-9]*/fd -maxdepth 1 -lname "$dev" 2>/dev/null); do
    t=\${f%/fd/*}; st=$(sed -n 's/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p' "$t/status" 2>/dev/null)
    case "$busy" in *" \${t#/proc/}("*) ;; *) busy="$busy \${t#/proc/}($st)";; esac
    if [ "$i" = 0 ] && [ "$st" = D ]; then
      echo "STACK \${t#/proc/} $(head -4 "$t/stack" 2>/dev/null | sed 's/^\\[<[0-9a-f]*>\\] //' | tr '\\n' ' ')"
    fi
  done
  [ -z "$busy" ] && { echo "FREE $i"; exit 0; }
  i=$((i+1)); [ "$i" -ge "$max" ] && { echo "BUSY$busy"; exit 0; }
  sleep 0.2
done
`;

/** Parsed markers of a decode's stderr. */
export interface GstStderr {
  opened: string[];
  exit?: number;
  md5?: string;
  /** stderr without the markers. */
  text: string;
}

/** Splits {@link DECODE_SCRIPT} markers and the sink's checksum message out of stderr. */
export function parseGstStderr(stderr: string): GstStderr {
  const opened: string[] = [];
  let exit: number | undefined;
  let md5: string | undefined;
  const keep: string[] = [];
  for (const line of stderr.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^WB-OPENED (\S+)$/.exec(line))) opened.push(m[1]!);
    else if ((m = /^WB-EXIT (\d+)$/.exec(line))) exit = Number(m[1]);
    else if (/^WB-GST-PID \d+$/.test(line)) continue;
    else {
      const c = /conformance\/checksum, checksum-type=\(string\)MD5, checksum=\(string\)([0-9a-f]{32})/.exec(line);
      if (c) md5 = c[1];
      keep.push(line);
    }
  }
  return { opened, ...(exit !== undefined ? { exit } : {}), ...(md5 ? { md5 } : {}), text: keep.join('\n') };
}

/** gst-launch `-m` bus messages that say nothing about a failure (tags, state changes...). */
const NOISE = /^Got message #\d+ from \S+ "[^"]*" \((tag|state-changed|stream-status|need-context|have-context|latency|new-clock|async-done|duration-changed|stream-start|qos)\)/;

/** stderr without the routine bus messages (for the tail shown to people). */
export function quietGstOutput(text: string): string {
  return text
    .split('\n')
    .filter((l) => !NOISE.test(l))
    .join('\n');
}

/** The demuxer element for a vector file (by magic: IVF `DKIF`, else WebM/Matroska). */
async function demuxerFor(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.toString('latin1') === 'DKIF' ? 'ivfparse' : 'matroskademux';
  } finally {
    await fh.close();
  }
}

/** gst-launch argv of one decode. */
export function pipelineArgv(element: string, demuxer: string, input: string, output: string): string[] {
  return [
    'gst-launch-1.0',
    '-m',
    'filesrc',
    `location=${input}`,
    '!',
    demuxer,
    '!',
    'vp9parse',
    '!',
    element,
    '!',
    'videoconvert',
    '!',
    PLANAR_CAPS,
    '!',
    'videocodectestsink',
    `location=${output}`,
  ];
}

/** The GStreamer stateless decoder bound to one driver on one board. */
export class GstV4l2SlDecoder implements Decoder {
  readonly name = 'gst-v4l2sl-vp9';
  private chosen: VP9Element | undefined;
  private probeResult: GstProbe | undefined;
  /** How long to wait for a killed decoder to release the device, ms. */
  releaseWaitMs = 120_000;
  /** Local file -> its board path, for files known to be on the board. */
  private readonly staged = new Map<string, string>();

  constructor(
    private readonly target: Target,
    private readonly driver: string | undefined,
  ) {}

  /** Board facts from the last probe (elements, driver formats). */
  get facts(): GstProbe | undefined {
    return this.probeResult;
  }

  async probe(): Promise<DeviceProof> {
    if (!this.chosen) {
      this.probeResult = await probeGst(this.target);
      if (this.driver === 'visl' && !this.probeResult.elements.some((e) => e.driver === 'visl')) {
        // visl is a test driver nothing loads at boot: load it (visl mode reloads it per vector anyway)
        await this.target.exec(['modprobe', 'visl'], { timeoutMs: 60_000 });
        this.probeResult = await probeGst(this.target);
      }
      this.chosen = selectElement(this.probeResult, this.driver, this.target.name);
    }
    return { ...this.chosen, opened: [] };
  }

  /** Forgets the element binding (after a driver reload changed device nodes); the next call probes again. */
  async refresh(): Promise<void> {
    this.chosen = undefined;
    this.probeResult = undefined;
  }

  /**
   * Puts vector files on the board (content-addressed, {@link remoteInputPath}):
   * one round trip finds those already there, the others are uploaded
   * (SHA-256 verified) to a temporary name and renamed in one more round
   * trip. Files staged before by this decoder cost nothing.
   * @param files local path -> vector name.
   * @throws WorkbenchError `E_TRANSFER` and the Target's errors.
   */
  async stageInputs(files: ReadonlyMap<string, string>): Promise<void> {
    const want = new Map<string, string>();
    for (const [local, name] of files) if (!this.staged.has(local)) want.set(local, remoteInputPath(await sha256File(local), name));
    if (!want.size) return;
    const have = await this.target.exec(['sh', '-c', HAVE_INPUTS_SCRIPT, 'wb-have', ...want.values()]);
    const present = new Set(have.stdout.split('\n').filter((l) => l.startsWith('HAVE ')).map((l) => l.slice(5)));
    const moves: string[] = [];
    for (const [local, remote] of want) {
      if (present.has(remote)) continue;
      const tmp = validateRemotePath(`${REMOTE_DIR}/.part-${randomBytes(6).toString('hex')}`);
      if (!moves.length) await this.target.exec(['mkdir', '-p', REMOTE_DIR]);
      await this.target.upload(local, tmp);
      moves.push(tmp, remote);
    }
    if (moves.length) {
      const r = await this.target.exec(['sh', '-c', COMMIT_INPUTS_SCRIPT, 'wb-commit', ...moves]);
      const moved = new Set(r.stdout.split('\n').filter((l) => l.startsWith('MOVED ')).map((l) => l.slice(6)));
      for (let i = 1; i < moves.length; i += 2) {
        if (!moved.has(moves[i]!)) throw new WorkbenchError('E_TRANSFER', `${this.target.name}: could not move ${moves[i - 1]} to ${moves[i]}: ${r.stderr.trim()}`, { hint: 'is the board\'s /tmp full or read-only?' });
      }
    }
    for (const [local, remote] of want) this.staged.set(local, remote);
  }

  async decode(req: DecodeRequest): Promise<DecoderRun> {
    const el = (await this.probe()) as DeviceProof;
    validateName(req.vectorName, 'vector name');
    await this.stageInputs(new Map([[req.vectorPath, req.vectorName]]));
    const input = this.staged.get(req.vectorPath)!;
    const output = validateRemotePath(`${REMOTE_DIR}/${req.vectorName}.out.yuv`);
    const gst = pipelineArgv(el.element, await demuxerFor(req.vectorPath), input, output);
    const argv = ['sh', '-c', DECODE_SCRIPT, 'wb-decode', output, GST_DEBUG_SPEC, ...gst];
    const r = await this.target.exec(argv, {
      onStdoutBytes: req.onFrameBytes,
      timeoutMs: req.timeoutMs,
      allowFailure: true,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const se = parseGstStderr(r.stderr);
    const run: DecoderRun = {
      argv: gst,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: r.durationMs,
      stderrTail: tail(quietGstOutput(se.text), 20),
      proof: { ...el, opened: se.opened },
      ...(se.md5 ? { decoderMd5: se.md5 } : {}),
      captureFormats: selectedCaptureFormats(se.text),
    };
    const formats = this.probeResult?.formats[el.videoDevice];
    if (formats) run.driverOffers = driverOffers(formats);
    if (r.timedOut) {
      // the script was killed before it printed the devices it saw: read its side file
      const fds = await this.target.exec(['sh', '-c', 'sort -u "$1" 2>/dev/null; rm -f "$1"', 'wb-fds', `${output}.fds`], { allowFailure: true });
      run.proof!.opened = fds.stdout.split('\n').filter((l) => l.startsWith('/dev/'));
      try {
        const w = await this.waitReleaseDetailed(el.videoDevice);
        run.releaseMs = w.ms;
        if (w.stuck.length) run.stuckThreads = w.stuck;
      } catch (e) {
        run.releaseError = (e as Error).message;
      }
    } else if (r.exitCode !== 0) {
      const c = classifyGstFailure(se.text, el, formats);
      if (c.kind === 'not-supported') run.notSupported = c.reason;
      else run.error = c.reason;
    }
    // the input stays (content-addressed, reused); DECODE_SCRIPT removed its output unless it was killed
    if (r.timedOut || r.exitCode === 97 || r.exitCode < 0) await this.target.exec(['rm', '-f', output, `${output}.fds`], { allowFailure: true });
    return run;
  }

  /**
   * Waits until no process holds the decoder's video device (a decoder killed
   * while the kernel still runs its job stays until the job ends).
   * @returns ms waited.
   * @throws WorkbenchError `E_BOARD_BUSY` when the device is still held after
   *   {@link releaseWaitMs}: the next vector could not run.
   */
  async waitRelease(device: string): Promise<number> {
    return (await this.waitReleaseDetailed(device)).ms;
  }

  /** {@link waitRelease} plus the kernel stacks of threads that were stuck (D state) when the wait began. */
  async waitReleaseDetailed(device: string): Promise<{ ms: number; stuck: string[] }> {
    const started = Date.now();
    const checks = Math.ceil(this.releaseWaitMs / 200);
    const r = await this.target.exec(['sh', '-c', WAIT_RELEASE_SCRIPT, 'wb-wait', device, String(checks)], {
      timeoutMs: this.releaseWaitMs + 60_000,
    });
    const out = r.stdout.trim().split('\n').filter((l) => !l.startsWith('STACK ')).join(' ');
    if (out.startsWith('BUSY')) {
      throw new WorkbenchError('E_BOARD_BUSY', `board ${this.target.name}: ${device} is still held by${out.slice(4)} (pid/task/tid(state)) ${this.releaseWaitMs} ms after the decoder was killed`, {
        hint: 'the process is stuck in the kernel (D state); check `cat /proc/PID/stack` and the kernel log, or reboot the board',
      });
    }
    const stuck = r.stdout.split('\n').filter((l) => l.startsWith('STACK ')).map((l) => l.slice(6).trim());
    return { ms: Date.now() - started, stuck };
  }
}

registerDecoder({
  name: 'gst-v4l2sl-vp9',
  description: 'GStreamer v4l2slvp9dec (V4L2 stateless request API) on the board, bound to the chosen driver',
  where: 'target',
  hw: true,
  create(ctx) {
    if (!ctx.target) throw new WorkbenchError('E_INTERNAL', 'gst-v4l2sl-vp9 decoder needs a Target');
    return new GstV4l2SlDecoder(ctx.target, ctx.driver);
  },
});
