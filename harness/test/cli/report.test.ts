import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/core/paths.ts';
import { ReportStaging } from '../../src/report/store.ts';
import { sampleRecord } from '../report/sampleRecord.ts';

const run = promisify(execFile);
const BIN = join(projectRoot(), 'harness/bin/workbench.js');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wb-rcli-'));
  ReportStaging.create(root, 'a1').finalize(sampleRecord({ runId: 'a1', startedAt: '2026-11-14T10:00:00.000Z' }));
  const b = structuredClone(sampleRecord({ runId: 'b2', startedAt: '2026-11-14T11:00:00.000Z' }));
  b.vectors[0]!.verdict = { result: 'timeout', checks: [], timeoutMs: 1000 };
  ReportStaging.create(root, 'b2').finalize(b);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function wb(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: projectRoot() });
    return { ...r, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { stdout: x.stdout, stderr: x.stderr, code: x.code };
  }
}

describe('workbench report', () => {
  it('diff lists new failures and exits 1; list shows both runs', async () => {
    const d = await wb(['report', 'diff', 'a1', 'b2', '--reports-dir', root]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('NEW FAILURE  vp90-2-00-quantizer-00: pass -> timeout');
    const same = await wb(['report', 'diff', 'a1', join(root, 'a1', 'run.json'), '--reports-dir', root, '--json']);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout).newFailures).toEqual([]);
    const l = await wb(['report', 'list', '--reports-dir', root]);
    expect(
      l.stdout
        .trim()
        .split('\n')
        .map((x) => x.split(/\s+/)[0]),
    ).toEqual(['a1', 'b2']);
  }, 30_000);

  it('a missing run is a clear error with exit 2', async () => {
    const d = await wb(['report', 'diff', 'a1', 'zz', '--reports-dir', root]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/error\[E_REPORT_NOT_FOUND\]: no run.json for "zz"/);
    expect(d.stderr).toMatch(/hint: /);
  }, 30_000);
});
