import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registersCheck } from '../../src/decode/checks/registers.ts';
import type { SessionFacts, VectorRun } from '../../src/decode/checks/check.ts';
import type { Runner } from '../../src/core/runner.ts';
import type { Target } from '../../src/target/types.ts';
import type { InspectResult } from '../../src/vectors/inspect.ts';
import { captureText } from './simboardFixture.ts';

// The registers check's own plumbing around the real fixture lines: the
// vector's capture lines (those appended during its decode) become the run
// record's `captures` and the report's download, even when MPP cannot
// record on the host (here: an empty cache and a runner that refuses, so
// the MPP rig cannot be built and the differential does not run).
let dir: string;
const savedCache = process.env.WORKBENCH_CACHE_DIR;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wb-regcheck-'));
  process.env.WORKBENCH_CACHE_DIR = join(dir, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.WORKBENCH_CACHE_DIR;
  else process.env.WORKBENCH_CACHE_DIR = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

describe('the registers check with register captures', () => {
  it("summarizes only the vector's capture lines into the record and writes them as its download", async () => {
    const [first, second, third] = captureText().trim().split('\n') as [string, string, string];
    const file = join(dir, 'capture.jsonl');
    writeFileSync(file, `${first}\n`); // a job of an earlier vector
    const runner = {
      run: () => Promise.reject(new Error('no commands in this test')),
    } as unknown as Runner;
    const session: SessionFacts = {};
    const logs: string[] = [];
    await registersCheck.setup!({} as Target, session, (m) => logs.push(m), runner);
    expect(logs.join('\n')).toMatch(/MPP unavailable/);
    const report = join(dir, 'report');
    const v = {
      target: { registerCaptureFile: () => file },
      vector: { name: 'p0-intra-only', file: join(dir, 'none.ivf') },
      // 3 decode-order frames, none show_existing_frame
      inspect: { frames: [0, 1, 2].map((index) => ({ index, header: { showExistingFrame: false } })) } as unknown as InspectResult,
      runner,
      artifactsDir: join(report, 'artifacts', 'p0-intra-only'),
      relative: (p: string) => relative(report, p),
      session,
      log: () => undefined,
      shared: new Map(),
      notes: [],
      artifacts: [],
      lockReleased: false,
      collectMs: 0,
    } as unknown as VectorRun;
    await registersCheck.prepare!(v);
    registersCheck.background!(v);
    appendFileSync(file, `${second}\n${third}\n`); // the decode
    await registersCheck.collect!(v);
    const j = await registersCheck.judge(v);
    expect(j.results).toEqual([{ check: 'registers', status: 'not-run', detail: expect.stringMatching(/^MPP unavailable on this host/) }]);
    expect(j.record?.captures).toMatchObject({
      jobs: 2,
      frames: 3,
      equal: false,
      statuses: [{ status: '0x00000007', bits: ['irq', 'irq_raw', 'dec_rdy'], count: 2 }],
      // fixture lines 2 and 3: t_irq_ns - t_start_ns = 307184, 937352 ns
      latencyUs: { irq: { min: 307.184, median: (307184 + 937352) / 2 / 1000, max: 937.352, jobs: 2 } },
      download: 'artifacts/p0-intra-only/registers-capture.jsonl',
    });
    await registersCheck.report!(v, { result: 'fail', checks: [], firstBadFrame: 0 } as never);
    expect(readFileSync(join(report, 'artifacts', 'p0-intra-only', 'registers-capture.jsonl'), 'utf8')).toBe(`${second}\n${third}\n`);
    expect(v.artifacts.map((a) => a.path)).toEqual(['artifacts/p0-intra-only/registers-capture.jsonl']);
  });
});
