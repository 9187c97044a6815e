import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry, sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import type { FrameTable } from '../model/captures.ts';
import type { Runner } from '../core/runner.ts';
import { loadAllowList, type AllowList } from './allowList.ts';
import { parseCapture } from './capture.ts';
import { captureJob, diffRegisters, type RegDiffReport } from './diff.ts';
import { ensureMppRig } from './mppBuild.ts';
import { ensureMppFields } from './mppFields.ts';
import { recordMpp } from './mppRecord.ts';
import { FrameRecordSchema, type FrameRecord } from './records.ts';

/**
 * Reads `records.jsonl` of an mpp-record folder.
 * @throws WorkbenchError `E_MPP_RECORDS` naming the file, line and field.
 */
export async function loadMppRecords(dir: string): Promise<FrameRecord[]> {
  const file = join(dir, 'records.jsonl');
  if (!existsSync(file)) {
    throw new WorkbenchError('E_MPP_RECORDS', `${file} does not exist`, { hint: 'make it with `workbench registers mpp-record VECTOR --out DIR`' });
  }
  const out: FrameRecord[] = [];
  (await readFile(file, 'utf8')).split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new WorkbenchError('E_MPP_RECORDS', `${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    const p = FrameRecordSchema.safeParse(raw);
    if (!p.success) {
      const iss = p.error.issues[0]!;
      throw new WorkbenchError('E_MPP_RECORDS', `${file}:${i + 1}: field "${iss.path.join('.')}": ${iss.message}`, {
        hint: 'record it again with this workbench (`workbench registers mpp-record`)',
      });
    }
    out.push(p.data);
  });
  return out;
}

/**
 * MPP's records of a vector, recorded once per (vector content, MPP build,
 * shim) and kept in the cache (`mpp-records/<key>/records.jsonl`): the
 * per-vector check asks for them on every run.
 * @throws the errors of recordMpp / ensureMppRig.
 */
export async function cachedMppRecords(
  vectorPath: string,
  opts: { runner: Runner; cacheRoot?: string; mirror?: string | null; log?: (m: string) => void },
): Promise<{ dir: string; records: FrameRecord[]; hit: boolean }> {
  const rig = await ensureMppRig({ runner: opts.runner, log: opts.log, cacheRoot: opts.cacheRoot, mirror: opts.mirror });
  const entry = await ensureEntry(
    'mpp-records',
    { vector: await sha256File(vectorPath), build: rig.buildKey, shim: rig.shimKey },
    async (tmp) => {
      const r = await recordMpp(vectorPath, { out: join(tmp, 'rec'), rig, runner: opts.runner, log: opts.log });
      return { files: ['rec/records.jsonl', 'rec/summary.json'], extra: { records: r.records.length } };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  const dir = join(entry.dir, 'rec');
  return { dir, records: await loadMppRecords(dir), hit: entry.hit };
}

/**
 * The differential of a capture file (or the lines from `fromLine` on)
 * against MPP's records, with MPP's field table and an allow-list (default:
 * the repository's, allow-list.toml). `tables`, when given, receives the
 * per-frame register tables (diffRegisters).
 * @throws WorkbenchError `E_CAPTURE` (bad capture line), `E_CONFIG` (allow-list), and those of ensureMppFields.
 */
export async function diffCaptureText(
  records: readonly FrameRecord[],
  captureText: string,
  captureFile: string,
  opts: { allow?: AllowList | null; fromLine?: number; cacheRoot?: string; mirror?: string | null; log?: (m: string) => void; tables?: FrameTable[] } = {},
): Promise<RegDiffReport> {
  const jobs = parseCapture(captureText, captureFile, opts.fromLine ?? 1).map(captureJob);
  const { fields } = await ensureMppFields({ cacheRoot: opts.cacheRoot, mirror: opts.mirror, log: opts.log });
  const allow = opts.allow === undefined ? loadAllowList() : opts.allow;
  return diffRegisters(fields, records, jobs, allow, opts.tables);
}
