import type { Command } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { sha256File, writeFileAtomic } from '../../core/cache.ts';
import { parseFtrace, vp9FrameEvents, vp9ProbsEvents } from '../../decode/vislTrace.ts';
import { goldenStream, mppDeltaProbs, renderGoldenHeader } from '../../registers/kunitGolden.ts';
import { inspectFile } from '../../vectors/inspect.ts';
import { WorkbenchError } from '../../core/errors.ts';
import { ensureMppRig } from '../../registers/mppBuild.ts';
import { ensureMppFields } from '../../registers/mppFields.ts';
import { recordMpp, resolveVector } from '../../registers/mppRecord.ts';
import { FrameRecordSchema, registerMap } from '../../registers/records.ts';
import { decodeRegisters } from '../../registers/regFields.ts';
import { ADDRESS_ROLES, REF_NAMES } from '../../registers/roles.ts';
import { loadAllowList } from '../../registers/allowList.ts';
import { diffCaptureText, loadMppRecords } from '../../registers/compareRun.ts';
import { formatReport } from '../../registers/diff.ts';
import { ExecaRunner } from '../../core/runner.ts';

const log = (s: string) => process.stderr.write(`[registers] ${s}\n`);
const out = (s: string) => process.stdout.write(s + '\n');

/** Registers `workbench registers mpp-build|mpp-record|mpp-show|diff|kunit-golden`. */
export function register(program: Command): void {
  const r = program
    .command('registers')
    .description("register programming per frame: Rockchip MPP's vdpu34x VP9 HAL run on the host against a device stand-in (needs root)");

  r.command('mpp-build')
    .description('build (once, cached) MPP for the host and the device-layer shim; print where they are')
    .option('--mirror <dir>', 'local mirror holding rockchip-mpp/<archive> (default: WORKBENCH_MPP_MIRROR, ../shared/mirror, else download)')
    .action(async (o: { mirror?: string }) => {
      const rig = await ensureMppRig({ log, mirror: o.mirror, runner: new ExecaRunner() });
      out(`mpi_dec_test: ${join(rig.binDir, 'mpi_dec_test')}`);
      out(`shim: ${rig.shimPath}`);
      out(
        `MPP ${rig.source.manifest.commit} from ${rig.source.origin}; build ${rig.built ? 'done now' : 'cached'}${rig.buildSeconds !== null ? ` (${rig.buildSeconds.toFixed(0)} s)` : ''}`,
      );
    });

  r.command('mpp-record')
    .description("decode VECTOR with MPP's mpi_dec_test on the device stand-in and write one register record per decoded frame")
    .argument('<vector>', 'a .ivf/.webm file or a vector name (e.g. p0-resize-inter)')
    .option('--out <dir>', 'output folder (default mpp-records/<vector>); replaced only when the run succeeds')
    .option('--mirror <dir>', 'local mirror for the MPP source (see mpp-build)')
    .option('--dump-buffers', 'also store the bytes of every buffer the registers point at (<out>/buffers/<sha256>.bin)')
    .action(async (vector: string, o: { out?: string; mirror?: string; dumpBuffers?: boolean }) => {
      const path = await resolveVector(vector, new ExecaRunner());
      const res = await recordMpp(path, { out: o.out, mirror: o.mirror, dumpBuffers: Boolean(o.dumpBuffers), log, runner: new ExecaRunner() });
      const s = res.summary;
      out(
        `${s.records} frames recorded (${s.frames} frames in the stream, ${s.frames - s.decodedFrames} show_existing_frame; MPP output ${s.mppOutputFrames}) -> ${res.outDir}`,
      );
    });

  r.command('mpp-show')
    .description("print a recorded frame's registers under MPP's field names (vdpu34x_vp9d.h / vdpu34x_com.h)")
    .argument('<dir>', 'an mpp-record output folder')
    .option('--frame <n>', 'decode-order frame index (default: every frame)')
    .option('--nonzero', 'only fields that are not 0')
    .action(async (dir: string, o: { frame?: string; nonzero?: boolean }) => {
      const fields = (await ensureMppFields({ log })).fields;
      const lines = (await readFile(join(dir, 'records.jsonl'), 'utf8')).split('\n').filter(Boolean);
      const want = o.frame === undefined ? null : Number(o.frame);
      let shown = 0;
      for (const [i, line] of lines.entries()) {
        const p = FrameRecordSchema.safeParse(JSON.parse(line));
        if (!p.success)
          throw new WorkbenchError(
            'E_MPP_RECORDS',
            `${join(dir, 'records.jsonl')}:${i + 1}: ${p.error.issues[0]!.path.join('.')}: ${p.error.issues[0]!.message}`,
          );
        const rec = p.data;
        if (want !== null && rec.frame !== want) continue;
        shown++;
        out(
          `# frame ${rec.frame} (job ${rec.job}): ${rec.frameType}${rec.intraOnly ? ' intra-only' : ''}${rec.showFrame ? '' : ' hidden'} ${rec.width}x${rec.height}, status 0x${rec.status.toString(16)}`,
        );
        for (const f of decodeRegisters(fields, registerMap(rec))) if (!o.nonzero || f.value) out(`reg${f.reg} ${f.name} = ${f.value}`);
        const refOf = (reg: number) => (rec.refs && reg >= 164 && reg <= 166 ? ` = frame ${rec.refs[REF_NAMES[reg - 164]!] ?? '?'}` : '');
        for (const a of rec.addresses) {
          const role = ADDRESS_ROLES[a.reg] ?? 'unknown';
          out(
            `reg${a.reg} ${role} -> ${a.buffer === null ? `value 0x${a.value.toString(16)} (no buffer)` : `buffer ${a.buffer} + ${a.offset}${refOf(a.reg)}`}`,
          );
        }
      }
      if (want !== null && !shown)
        throw new WorkbenchError('E_USAGE', `${dir} has no record of frame ${want}`, {
          hint: 'frame numbers are decode-order indexes; show_existing_frame frames have no record',
        });
    });

  r.command('diff')
    .description("compare the series' register programming (a simboard capture) with MPP's records of the same vector, frame by frame, field by field")
    .requiredOption('--mpp <dir>', 'an mpp-record output folder (records.jsonl)')
    .requiredOption('--capture <file>', "the simboard's capture (JSON lines, one per decode job) of the same vector, nothing else")
    .option('--allow <file>', "allow-list (TOML); default: the repository's harness/src/registers/allow-list.toml")
    .option('--no-allow', 'use no allow-list')
    .option('--mirror <dir>', 'local mirror for the MPP source (field table; see mpp-build)')
    .option('--json', 'print the whole report as JSON')
    .option('--limit <n>', 'differences listed', '50')
    .action(async (o: { mpp: string; capture: string; allow?: string | false; mirror?: string; json?: boolean; limit: string }) => {
      const records = await loadMppRecords(o.mpp);
      const text = await readFile(o.capture, 'utf8').catch((e: Error) => {
        throw new WorkbenchError('E_CAPTURE', `cannot read ${o.capture}: ${e.message}`);
      });
      const allow = o.allow === false ? null : loadAllowList(o.allow);
      const rep = await diffCaptureText(records, text, o.capture, { allow, mirror: o.mirror, log });
      if (o.json) out(JSON.stringify(rep, null, 2));
      else for (const l of formatReport(rep, allow, Number(o.limit))) out(l);
      if (rep.differences.length || rep.mppJobs !== rep.seriesJobs) process.exitCode = 1;
    });

  r.command('kunit-golden')
    .description(
      "write the golden data of the series' KUnit test: the V4L2 controls of the first frames of each VECTOR (from a visl trace) and the register words MPP programmed for them",
    )
    .argument('<vectors...>', 'vector files or names (e.g. p0-intra-only)')
    .requiredOption('--traces <dir>', 'folder of `workbench decode --board vboard --visl-trace DIR` (one <vector>.trace each, and source.txt)')
    .requiredOption('--frames <n>', 'decoded frames per vector (from the first); one number, or one per vector separated by commas')
    .requiredOption('--out <file>', "the C header to write (e.g. the series tree's rkvdec-vdpu381-vp9-golden.h)")
    .option('--allow <file>', "allow-list (TOML); default: the repository's harness/src/registers/allow-list.toml")
    .option('--mirror <dir>', 'local mirror for the MPP source (see mpp-build)')
    .action(async (vectors: string[], o: { traces: string; frames: string; out: string; allow?: string; mirror?: string }) => {
      const runner = new ExecaRunner();
      const counts = o.frames.split(',').map((x) => Number(x.trim()));
      if (counts.some((n) => !Number.isInteger(n) || n < 1) || (counts.length !== 1 && counts.length !== vectors.length)) {
        throw new WorkbenchError('E_USAGE', `--frames ${o.frames}: expected one positive integer, or one per vector (${vectors.length})`);
      }
      const allow = loadAllowList(o.allow);
      const { fields, source } = await ensureMppFields({ log, mirror: o.mirror });
      const streams = [];
      for (const [k, v] of vectors.entries()) {
        const path = await resolveVector(v, runner);
        const name = basename(path).replace(/\.(ivf|webm)$/i, '');
        const traceFile = join(o.traces, `${name}.trace`);
        const text = await readFile(traceFile, 'utf8').catch((e: Error) => {
          throw new WorkbenchError('E_GOLDEN', `cannot read ${traceFile}: ${e.message}`, {
            hint: `decode it with \`workbench decode --board vboard --visl-trace ${o.traces} ${path}\``,
          });
        });
        const events = parseFtrace(text).events;
        const info = await inspectFile(path);
        // A fresh record with the buffers' bytes (the cached records hold hashes only).
        const recDir = await mkdtemp(join(tmpdir(), 'wb-golden-'));
        const count = counts[counts.length === 1 ? 0 : k]!;
        const deltaProbs: Uint8Array[] = [];
        let mpp;
        try {
          mpp = await recordMpp(path, { out: join(recDir, 'rec'), dumpBuffers: true, mirror: o.mirror, log, runner });
          for (const r of mpp.records.slice(0, count)) deltaProbs.push(await mppDeltaProbs(r, join(recDir, 'rec', 'buffers')));
        } finally {
          await rm(recDir, { recursive: true, force: true });
        }
        const s = goldenStream({
          vectorPath: path,
          vectorSha256: await sha256File(path),
          frames: info.frames,
          traced: vp9FrameEvents(events),
          probs: vp9ProbsEvents(events),
          mpp: mpp.records,
          deltaProbs,
          fields,
          allow,
          count,
        });
        log(
          `${name}: ${s.frames.length} frames (${s.frames.map((f) => f.kind).join(', ')}), ${s.frames.reduce((n, f) => n + f.regs.length, 0)} register words, ${s.leftOut.size} fields left out`,
        );
        streams.push(s);
      }
      const controls = (await readFile(join(o.traces, 'source.txt'), 'utf8').catch(() => 'unknown (no source.txt in the trace folder)\n')).trim();
      const text = renderGoldenHeader(streams, {
        controls,
        mpp: `${source.manifest.upstream} ${source.manifest.commit.slice(0, 12)}`,
        allowList: allow.file,
      });
      await writeFileAtomic(o.out, text);
      out(`${o.out}: ${streams.length} stream(s), ${streams.reduce((n, s) => n + s.frames.length, 0)} frames`);
    });
}
