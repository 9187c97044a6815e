import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';
import { cachedMppRecords } from '../../src/registers/compareRun.ts';
import { registersCheck } from '../../src/decode/checks/registers.ts';
import type { VectorRun } from '../../src/decode/plugins.ts';
import type { SessionFacts } from '../../src/decode/checks/check.ts';
import type { Target } from '../../src/target/types.ts';
import { inspectFile } from '../../src/vectors/inspect.ts';
import type { FrameRecord } from '../../src/registers/records.ts';
import { generateSuite } from '../../src/vectors/generate/generate.ts';
import { synthesizeCapture } from './captureLine.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

// Real MPP (pinned source, built in its chroot, device stand-in) records a
// vp9-features vector with segmentation (cyclic AQ); the capture is
// synthesized from those records by captureLine.ts (independent of the
// differential), and the real CLI compares them.

const log = (m: string) => process.stderr.write(`[mppdiff] ${m}\n`);
let mppDir: string;
let vectorPath: string;
let records: FrameRecord[];
const work = mkdtempSync(join(tmpdir(), 'wb-mppdiff-'));

beforeAll(async () => {
  const gen = await generateSuite({ runner: new ExecaRunner(), only: ['p0-aq-cyclic-rt'], log });
  vectorPath = gen.vectors[0]!.path;
  const rec = await cachedMppRecords(vectorPath, { runner: new ExecaRunner(), log });
  mppDir = rec.dir;
  records = rec.records;
});

async function cli(capture: string) {
  const file = join(work, `cap-${Math.random().toString(16).slice(2)}.jsonl`);
  writeFileSync(file, capture + '\n');
  return execa('node', [join(projectRoot(), 'harness/bin/workbench.js'), 'registers', 'diff', '--mpp', mppDir, '--capture', file], { reject: false });
}

describe('workbench registers diff (real MPP records)', () => {
  it('the same programming at other addresses: every frame equal, exit 0', async () => {
    const r = await cli(synthesizeCapture(records));
    expect(r.stderr).not.toMatch(/error\[/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${records.length}/${records.length} frames equal to MPP \\(\\d+ value fields, \\d+ address roles`));
  });

  it('one field changed by its raw bits (reg103 bit 29, MPP SWREG103 allow_high_precision_mv) on one frame: that frame and field named, exit 1', async () => {
    const target = records.find((r) => r.frameType === 'inter' && r.frame >= 5)!;
    let before = 0;
    const r = await cli(
      synthesizeCapture(records, (frame, regs) => {
        if (frame !== target.frame) return;
        before = (regs.get(103)! >>> 29) & 1;
        regs.set(103, (regs.get(103)! ^ (1 << 29)) >>> 0);
      }),
    );
    expect(r.exitCode).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${records.length - 1}/${records.length} frames equal to MPP .*; 1 differences, 0 allowed\\)`));
    expect(lines[1]).toBe(
      `  frame ${target.frame} (inter, job ${target.job}) reg103 vp9d_param.reg103.allow_high_precision_mv: MPP ${before}, series ${before ^ 1}`,
    );
  });

  it('a bad capture line: the error names the file, line and field', async () => {
    const text = synthesizeCapture(records.slice(0, 3)).split('\n');
    text[1] = text[1]!.replace('"end":"ack"', '"end":"later"');
    const r = await cli(text.join('\n'));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/error\[E_CAPTURE\]: .*cap-[0-9a-f]+\.jsonl:2: field "end"/);
  });

  it('the registers check: reads only the jobs appended during the vector, names the frame and field in the verdict detail, writes the per-frame diff', async () => {
    const capture = join(work, 'session-capture.jsonl');
    writeFileSync(capture, synthesizeCapture(records.slice(0, 2)) + '\n'); // an earlier vector's jobs
    const target = { name: 'sim', registerCaptureFile: () => capture } as unknown as Target;
    const session: SessionFacts = {};
    await registersCheck.setup!(target, session, log, new ExecaRunner());
    const artifactsDir = join(work, 'artefacts');
    const v = {
      target,
      vector: { name: 'p0-aq-cyclic-rt', file: vectorPath },
      inspect: await inspectFile(vectorPath),
      shared: new Map(),
      session,
      log,
      notes: [],
      artifacts: [],
      artifactsDir,
      relative: (p: string) => p.slice(work.length + 1),
    } as unknown as VectorRun;
    await registersCheck.prepare!(v);
    registersCheck.background!(v);
    const target3 = records[3]!;
    // the "decode": the series programs every frame like MPP but for reg103 bit 29 on frame 3
    appendFileSync(
      capture,
      synthesizeCapture(records, (frame, regs) => {
        if (frame === target3.frame) regs.set(103, (regs.get(103)! ^ (1 << 29)) >>> 0);
      }) + '\n',
    );
    await registersCheck.collect!(v);
    const j = await registersCheck.judge(v);
    expect(j.results).toEqual([
      {
        check: 'registers',
        status: 'fail',
        detail: expect.stringMatching(
          new RegExp(
            `^${records.length - 1}/${records.length} frames equal to MPP; first difference: frame ${target3.frame} \\(inter, job ${target3.job}\\) reg103 vp9d_param\\.reg103\\.allow_high_precision_mv: MPP \\d, series \\d \\[frame ${target3.frame}: inter \\d+x\\d+\\]; 1 differences in 1 frames`,
          ),
        ),
      },
    ]);
    await registersCheck.report!(v, { result: 'fail' } as never);
    expect(existsSync(join(artifactsDir, 'registers-diff.txt'))).toBe(true);
    expect(readFileSync(join(artifactsDir, 'registers-diff.txt'), 'utf8')).toMatch(/# per frame\nframe 0 \(job 0, key/);
  });
});
