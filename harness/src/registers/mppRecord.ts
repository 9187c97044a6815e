import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { tail } from '../core/text.ts';
import type { Runner } from '../core/runner.ts';
import { demux, muxIvf } from '../vectors/index.ts';
import { inspectBuffer, type FrameInfo, type InspectResult } from '../vectors/inspect.ts';
import { loadSuite, listSuites } from '../vectors/suites.ts';
import { ensureMppRig, type MppRig } from './mppBuild.ts';
import { referencedFrames } from './roles.ts';
import { parseShimRecords, type FrameRecord, type RecordSummary, type ShimRecord } from './records.ts';

/** MPP's coding type of VP9 for `mpi_dec_test -t` (MPP_VIDEO_CodingVP9 = 10, inc/rk_type.h). */
export const MPP_CODING_VP9 = 10;

/** reg224 bit 2, dec_rdy_sta (MPP vdpu34x_com.h SWREG224_STA_INT; Linux VDPU381 STA_INT). */
export const REG224_DEC_RDY = 1 << 2;

/** Options of {@link recordMpp}. */
export interface RecordMppOptions {
  /** Output folder (replaced only when the run succeeds). Default `mpp-records/<vector>`. */
  out?: string;
  /** Also store every referenced buffer's bytes in `<out>/buffers/<sha256>.bin`. */
  dumpBuffers?: boolean;
  /** Test hook: the stand-in answers dec_error_sta instead of dec_rdy_sta for this job (0-based). */
  plantFaultAtJob?: number;
  /** Prebuilt rig (else {@link ensureMppRig}). */
  rig?: MppRig;
  runner: Runner;
  cacheRoot?: string;
  /** MPP mirror (see resolveMppMirror). */
  mirror?: string | null;
  log?: (m: string) => void;
  /** Kill mpi_dec_test after this many ms (default 10 min). */
  timeoutMs?: number;
}

/** Result of {@link recordMpp}. */
export interface RecordMppResult {
  outDir: string;
  records: FrameRecord[];
  summary: RecordSummary;
  info: InspectResult;
}

/**
 * A vector given as a path, or by name from a suite (vp9-features first).
 * @throws WorkbenchError `E_VECTOR_UNKNOWN` / `E_NOT_AVAILABLE` with the command that provides it.
 */
export async function resolveVector(arg: string, runner: Runner): Promise<string> {
  if (existsSync(arg)) return resolve(arg);
  const names = ['vp9-features', ...listSuites().filter((s) => s !== 'vp9-features')];
  for (const s of names) {
    const suite = await loadSuite(s, { runner }).catch(() => null);
    const v = suite?.vectors.find((x) => x.name === arg);
    if (!v) continue;
    if (v.path) return v.path;
    throw new WorkbenchError('E_NOT_AVAILABLE', `${arg} (suite ${s}) is not available on this machine`, {
      hint: suite!.origin === 'generated' ? `run \`workbench vectors generate --only ${arg}\`` : `run \`workbench vectors fetch ${s} --mirror DIR\``,
    });
  }
  throw new WorkbenchError('E_VECTOR_UNKNOWN', `"${arg}" is neither a file nor a vector of a suite`, {
    hint: 'pass a .ivf/.webm path or a name from `workbench vectors list`',
  });
}

/** The frames MPP submits as hardware jobs: every frame but `show_existing_frame` ones (they only re-output a decoded frame). */
export function decodedFrames(info: InspectResult): FrameInfo[] {
  return info.frames.filter((f) => !f.header.showExistingFrame);
}

/** Lines of mpi_dec_test's log that report an output frame: `decode get frame N [tid T] [err E discard D]`. */
export function parseMppFrameLog(log: string): { frame: number; err: number; discard: number }[] {
  const out: { frame: number; err: number; discard: number }[] = [];
  for (const m of log.matchAll(/decode get frame (\d+)(?: tid -?\d+)?(?: err ([0-9a-f]+) discard ([0-9a-f]+))?/g)) {
    out.push({ frame: Number(m[1]), err: m[2] ? parseInt(m[2], 16) : 0, discard: m[3] ? parseInt(m[3], 16) : 0 });
  }
  return out;
}

/**
 * Pairs the shim's job records with the frames MPP decoded (job k = k-th
 * frame that is not show_existing_frame), adds the frames the reference
 * registers point at (roles.ts referencedFrames) and checks every job
 * ended with dec_rdy.
 * @throws WorkbenchError `E_MPP_FRAME_COUNT` (records != decoded frames),
 *   `E_MPP_UNSUPPORTED` (fewer jobs on a stream that is not 4:2:0),
 *   `E_MPP_FRAME_ERROR` (a job's status lacks dec_rdy_sta: names the job,
 *   the frame, the status word and what MPP logged for it).
 */
export function pairRecords(vector: string, info: InspectResult, shim: ShimRecord[], mppLog: string): FrameRecord[] {
  const frames = decodedFrames(info);
  const bad = shim.find((r) => (r.status & REG224_DEC_RDY) === 0);
  if (bad) {
    const f = frames[bad.job];
    const errs = parseMppFrameLog(mppLog).filter((x) => x.err || x.discard);
    throw new WorkbenchError(
      'E_MPP_FRAME_ERROR',
      `${vector}: MPP's hardware job ${bad.job} (decode-order frame ${f?.index ?? '?'}, ${f ? `${f.header.frameType}${f.header.intraOnly ? ' intra-only' : ''} ${f.header.width}x${f.header.height}` : 'beyond the stream'}) ended with status reg224=0x${bad.status.toString(16)} (no dec_rdy_sta)` +
        (bad.fault ? ' — a fault planted in the device stand-in' : '') +
        `; mpi_dec_test flagged ${errs.length} output frame(s) as erroneous${errs.length ? ` (first: frame ${errs[0]!.frame} err ${errs[0]!.err.toString(16)})` : ''}`,
      {
        hint: bad.fault
          ? 'expected with a planted fault; without one this is a bug in the device stand-in'
          : 'the device stand-in answered an error status; check shim/mpp_service_shim.c',
      },
    );
  }
  if (shim.length !== frames.length) {
    const not420 = frames.find((f) => f.header.color.subsamplingX !== 1 || f.header.color.subsamplingY !== 1);
    if (not420) {
      throw new WorkbenchError(
        'E_MPP_UNSUPPORTED',
        `${vector}: MPP submitted ${shim.length} of ${frames.length} hardware jobs: the stream is profile ${not420.header.profile} with ${not420.header.color.subsamplingX ? '4:2:2' : '4:4:4'} chroma (frame ${not420.index}), which MPP's RK3588 VP9 path does not decode (vdpu34x: 4:2:0, profiles 0 and 2)`,
        { hint: 'no register record exists for this vector; compare 4:2:0 vectors only' },
      );
    }
    throw new WorkbenchError(
      'E_MPP_FRAME_COUNT',
      `${vector}: MPP submitted ${shim.length} hardware jobs, the stream has ${frames.length} frames to decode (${info.frames.length} frames, ${info.frames.length - frames.length} show_existing_frame)`,
      { hint: `MPP's log ends with:\n${tail(mppLog, 12)}` },
    );
  }
  const paired = shim.map((r, i) => {
    const f = frames[i]!;
    return {
      ...r,
      frame: f.index,
      frameType: f.header.frameType,
      intraOnly: f.header.intraOnly,
      showFrame: f.header.showFrame,
      width: f.header.width,
      height: f.header.height,
    };
  });
  const refs = referencedFrames(paired);
  return paired.map((r, i) => ({ ...r, refs: refs[i]! }));
}

/**
 * Runs Rockchip MPP's own decoder (`mpi_dec_test -t 10 -i FILE.ivf`) on a
 * VP9 vector inside the MPP chroot with the device-layer shim preloaded,
 * and writes one JSON record per decoded frame: `<out>/records.jsonl`
 * ({@link FrameRecordSchema}), `<out>/summary.json`, `<out>/mpp.log`, and
 * with `dumpBuffers` the referenced buffers' bytes. WebM input is rewritten
 * to IVF first (same packets). The output folder is replaced only when the
 * run succeeded (built in a sibling temporary folder, then renamed).
 *
 * @throws WorkbenchError `E_MPP_RUN` (mpi_dec_test failed or was killed),
 *   `E_MPP_RECORDS` (the shim's output does not match the schema),
 *   `E_MPP_FRAME_COUNT`, `E_MPP_FRAME_ERROR` (see {@link pairRecords}), and
 *   the build/source errors of {@link ensureMppRig}.
 */
export async function recordMpp(vectorPath: string, opts: RecordMppOptions): Promise<RecordMppResult> {
  const name = basename(vectorPath).replace(/\.(ivf|webm)$/i, '');
  const bytes = await readFile(vectorPath).catch((e: Error) => {
    throw new WorkbenchError('E_VECTOR_READ', `cannot read ${vectorPath}: ${e.message}`);
  });
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const info = inspectBuffer(view, basename(vectorPath));
  const rig = opts.rig ?? (await ensureMppRig({ runner: opts.runner, log: opts.log, cacheRoot: opts.cacheRoot, mirror: opts.mirror }));
  const outDir = resolve(opts.out ?? join('mpp-records', name));
  const work = `${outDir}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  await mkdir(dirname(outDir), { recursive: true });
  await mkdir(join(work, 'buffers'), { recursive: true });
  try {
    const input = join(work, 'input.ivf');
    if (info.container === 'ivf') await writeFile(input, bytes);
    else {
      const dm = demux(view, basename(vectorPath));
      await writeFile(input, muxIvf(dm.packets, { width: dm.width, height: dm.height }));
    }
    const env: Record<string, string> = { LD_PRELOAD: '/shim/libwbmppshim.so', LD_LIBRARY_PATH: '/mpp', WB_MPP_SHIM_OUT: '/work/shim.jsonl' };
    if (opts.dumpBuffers) env.WB_MPP_SHIM_DUMP_DIR = '/work/buffers';
    if (opts.plantFaultAtJob !== undefined) env.WB_MPP_SHIM_FAULT = String(opts.plantFaultAtJob);
    const argv = ['/mpp/mpi_dec_test', '-t', String(MPP_CODING_VP9), '-i', '/work/input.ivf'];
    const r = await rig.chroot.exec(argv, {
      binds: [
        { host: rig.binDir, inside: '/mpp', readOnly: true },
        { host: dirname(rig.shimPath), inside: '/shim', readOnly: true },
        { host: work, inside: '/work' },
      ],
      env,
      allowFailure: true,
      timeoutMs: opts.timeoutMs ?? 600_000,
    });
    const log = r.stdout + (r.stderr ? `\n${r.stderr}` : '');
    await writeFile(join(work, 'mpp.log'), log);
    if (r.exitCode !== 0) {
      throw new WorkbenchError(
        'E_MPP_RUN',
        `${name}: mpi_dec_test exited with ${r.exitCode}${r.timedOut ? ' (killed after the timeout)' : ''}:\n${tail(log, 15)}`,
        {
          hint: 'see the MPP log above; wb-mpp-shim lines name a request the device stand-in does not support',
        },
      );
    }
    let shim: ShimRecord[];
    try {
      shim = parseShimRecords(existsSync(join(work, 'shim.jsonl')) ? await readFile(join(work, 'shim.jsonl'), 'utf8') : '');
    } catch (e) {
      throw new WorkbenchError('E_MPP_RECORDS', `${name}: the shim's records do not match the schema: ${(e as Error).message}`, {
        hint: 'shim/mpp_service_shim.c and records.ts disagree',
      });
    }
    const records = pairRecords(name, info, shim, log);
    const summary: RecordSummary = {
      vector: vectorPath,
      vectorSha256: await sha256File(vectorPath),
      mpp: { upstream: rig.source.manifest.upstream, commit: rig.source.manifest.commit, buildKey: rig.buildKey, shimKey: rig.shimKey },
      command: argv,
      frames: info.frames.length,
      decodedFrames: decodedFrames(info).length,
      records: records.length,
      mppOutputFrames: parseMppFrameLog(log).length,
      dumpedBuffers: !!opts.dumpBuffers,
    };
    await writeFile(join(work, 'records.jsonl'), records.map((x) => JSON.stringify(x)).join('\n') + '\n');
    await writeFile(join(work, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    await rm(join(work, 'shim.jsonl'));
    await rm(input);
    if (!opts.dumpBuffers || (await readdir(join(work, 'buffers'))).length === 0) await rm(join(work, 'buffers'), { recursive: true });
    await rm(outDir, { recursive: true, force: true });
    await rename(work, outDir);
    return { outDir, records, summary, info };
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}
