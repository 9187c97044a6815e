import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCapture } from '../../src/registers/capture.ts';
import { captureJob, diffRegisters } from '../../src/registers/diff.ts';
import { FrameRecordSchema, type FrameRecord } from '../../src/registers/records.ts';
import type { RegField } from '../../src/registers/regFields.ts';
import type { FrameTable } from '../../src/model/captures.ts';

/**
 * Real simboard capture lines (fixtures/simboard-p0-intra-only/README.md:
 * the series' first three jobs of p0-intra-only in run
 * 20261202-162739-simboard-f825) and MPP's records of the same frames
 * (fixtures/mpp-p0-intra-only, first three lines).
 */
const here = import.meta.dirname;
export const CAPTURE_FILE = join(here, 'fixtures', 'simboard-p0-intra-only', 'capture.jsonl');
export const captureText = (): string => readFileSync(CAPTURE_FILE, 'utf8');
const mppDir = join(here, 'fixtures', 'mpp-p0-intra-only');
export const mppRecords = (n = 3): FrameRecord[] =>
  readFileSync(join(mppDir, 'records.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .slice(0, n)
    .map((l) => FrameRecordSchema.parse(JSON.parse(l)));
export const mppFields = (): RegField[] => JSON.parse(readFileSync(join(mppDir, 'fields.json'), 'utf8')) as RegField[];

/** The differential of the fixture run without an allow-list (the run it was recorded from had none), whatever the repository's allow-list says today. */
export function fixtureTables(): { tables: FrameTable[]; report: ReturnType<typeof diffRegisters> } {
  const tables: FrameTable[] = [];
  const report = diffRegisters(mppFields(), mppRecords(), parseCapture(captureText(), 'capture.jsonl').map(captureJob), null, tables);
  return { tables, report };
}
