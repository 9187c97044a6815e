import { parse as parseYaml } from 'yaml';
import { WorkbenchError } from '../core/errors.ts';

/**
 * Reading what a LAVA job left: the job log (`logs.yaml` of lava-run's
 * output folder, or `GET /api/v0.2/jobs/<id>/logs/` from a server: a YAML
 * list of `{dt, lvl, msg}`), its test results (log entries of level
 * `results`), the job's health, and the lines our DUT script printed
 * (farm/dutScript.ts).
 *
 * LAVA facts used (lava_dispatcher 2026.10): every result is logged as
 * `lvl: results` with `msg: {definition, case, result, set?, measurement?,
 * units?, extra?}`; the job's own result is `definition: lava, case: job`
 * with `error_type` (Infrastructure, Job, Test, Bug, Configuration, Canceled)
 * when it failed; device output is `lvl: target`. The job's `result: pass`
 * does not mean the tests passed (failing cases do not fail the job).
 */

/** One log entry. */
export interface LavaLogEntry {
  dt: string;
  lvl: string;
  msg: unknown;
}

/** One test result as LAVA logged it. */
export interface LavaCase {
  definition: string;
  case: string;
  result: string;
  set?: string;
  measurement?: number;
  units?: string;
  /** Why LAVA set this result, when it says (e.g. a missing expected case). */
  reason?: string;
  errorType?: string;
  errorMsg?: string;
}

/** Health of a finished job (LAVA's terms). */
export type LavaHealth = 'Complete' | 'Incomplete' | 'Canceled' | 'Unknown';

/**
 * Parses a LAVA job log. lava-dispatcher writes one flow mapping in JSON
 * syntax per line (`- {"dt": ..., "lvl": ..., "msg": ...}`; a result line
 * may hold YAML's non-specific tag `!`, so such a line is read as YAML), line
 * by line (a log cut mid-line by a killed job keeps every whole line); any
 * other layout is parsed as YAML.
 * @throws WorkbenchError E_LAVA_LOG when the text is neither.
 */
export function parseLavaLog(text: string): LavaLogEntry[] {
  const out: LavaLogEntry[] = [];
  let fallback = false;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (!line.startsWith('- {')) {
      fallback = true;
      break;
    }
    let e: LavaLogEntry | undefined;
    try {
      e = JSON.parse(line.slice(2)) as LavaLogEntry;
    } catch {
      // YAML-only syntax in a flow mapping (lava-dispatcher writes `"starttc": ! "178"`), or a cut last line
      try {
        e = (parseYaml(line) as LavaLogEntry[] | null)?.[0];
      } catch {
        e = undefined;
      }
    }
    if (typeof e === 'object' && e && typeof e.lvl === 'string') out.push(e);
  }
  if (!fallback) return out;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new WorkbenchError('E_LAVA_LOG', `the LAVA job log is not YAML: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'pass logs.yaml from lava-run --output-dir, or the job id on a server',
    });
  }
  if (!Array.isArray(doc)) throw new WorkbenchError('E_LAVA_LOG', 'the LAVA job log is not a list of {dt, lvl, msg} entries');
  return doc.filter((e): e is LavaLogEntry => typeof e === 'object' && e !== null && typeof (e as LavaLogEntry).lvl === 'string');
}

/** The test results in a log. */
export function lavaCases(entries: readonly LavaLogEntry[]): LavaCase[] {
  const out: LavaCase[] = [];
  for (const e of entries) {
    if (e.lvl !== 'results' || typeof e.msg !== 'object' || e.msg === null) continue;
    const m = e.msg as Record<string, unknown>;
    if (typeof m.case !== 'string' || typeof m.result !== 'string') continue;
    const c: LavaCase = { definition: String(m.definition ?? ''), case: m.case, result: m.result };
    if (typeof m.set === 'string') c.set = m.set;
    if (m.measurement !== undefined && !Number.isNaN(Number(m.measurement))) c.measurement = Number(m.measurement);
    if (typeof m.units === 'string') c.units = m.units;
    const extra = m.extra as Record<string, unknown> | undefined;
    if (extra && typeof extra.reason === 'string') c.reason = extra.reason;
    if (typeof m.error_type === 'string') c.errorType = m.error_type;
    if (typeof m.error_msg === 'string') c.errorMsg = m.error_msg;
    out.push(c);
  }
  return out;
}

/**
 * The job's health from its log: the `lava/job` result (pass → Complete;
 * error_type Canceled → Canceled; else Incomplete). No such result (the
 * dispatcher was killed) → Incomplete. A server's own health, when known,
 * wins (pass it as `serverHealth`).
 */
export function jobHealth(entries: readonly LavaLogEntry[], serverHealth?: string): { health: LavaHealth; errorType?: string; errorMsg?: string } {
  const job = lavaCases(entries)
    .filter((c) => c.definition === 'lava' && c.case === 'job')
    .at(-1);
  const detail = { ...(job?.errorType ? { errorType: job.errorType } : {}), ...(job?.errorMsg ? { errorMsg: job.errorMsg } : {}) };
  if (serverHealth && ['Complete', 'Incomplete', 'Canceled'].includes(serverHealth)) return { health: serverHealth as LavaHealth, ...detail };
  if (!job) return { health: 'Incomplete', errorMsg: 'the job log has no final job result (the dispatcher stopped early)' };
  if (job.result === 'pass') return { health: 'Complete', ...detail };
  if (job.errorType === 'Canceled') return { health: 'Canceled', ...detail };
  return { health: 'Incomplete', ...detail };
}

/** What the DUT script printed about one vector. */
export interface DutVector {
  caseName: string;
  exitCode?: number;
  bytes?: number;
  md5?: string;
  frames: { index: number; bytes: number; sha256: string }[];
  /** GStreamer diagnostics (the script prints them when the decode failed). */
  gst: string[];
  errors: string[];
  /** Log time of the WB-DECODE line, and of the previous vector's end (for durations). */
  startedAt?: string;
  decodedAt?: string;
}

/** Everything the DUT script printed. */
export interface DutFacts {
  element?: { element: string; media: string; video: string; driver: string };
  modules?: string;
  restored: boolean;
  /** WB-ERROR lines not tied to a vector. */
  errors: string[];
  vectors: Map<string, DutVector>;
}

/** Device output lines of a log (`lvl: target`), each with its time. */
export function targetLines(entries: readonly LavaLogEntry[]): { dt: string; text: string }[] {
  const out: { dt: string; text: string }[] = [];
  for (const e of entries) {
    if (e.lvl !== 'target' || typeof e.msg !== 'string') continue;
    for (const t of e.msg.split('\n')) out.push({ dt: e.dt, text: t.replace(/\r$/, '') });
  }
  return out;
}

/** Parses the WB-* lines of the DUT script (farm/dutScript.ts documents them). */
export function parseDutLines(lines: readonly { dt: string; text: string }[]): DutFacts {
  const facts: DutFacts = { restored: false, errors: [], vectors: new Map() };
  const vec = (c: string): DutVector => {
    let v = facts.vectors.get(c);
    if (!v) facts.vectors.set(c, (v = { caseName: c, frames: [], gst: [], errors: [] }));
    return v;
  };
  let lastEnd: string | undefined;
  for (const { dt, text } of lines) {
    const i = text.indexOf('WB-');
    if (i < 0) continue;
    const t = text.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^WB-ELEMENT (\S+) (\S+) (\S+) (\S+)$/.exec(t))) facts.element = { element: m[1]!, media: m[2]!, video: m[3]!, driver: m[4]! };
    else if ((m = /^WB-MODULES (installed|restored|none|leftover)\b/.exec(t))) {
      if (m[1] === 'restored') facts.restored = true;
      else facts.modules = m[1];
    } else if ((m = /^WB-DECODE (\S+) rc=(\d+) bytes=(\d+) md5=([0-9a-f]{32})$/.exec(t))) {
      const v = vec(m[1]!);
      Object.assign(v, { exitCode: Number(m[2]), bytes: Number(m[3]), md5: m[4]!, decodedAt: dt, ...(lastEnd ? { startedAt: lastEnd } : {}) });
      lastEnd = dt;
    } else if ((m = /^WB-FRAME (\S+) (\d+) (\d+) ([0-9a-f]{64})$/.exec(t))) {
      vec(m[1]!).frames.push({ index: Number(m[2]), bytes: Number(m[3]), sha256: m[4]! });
    } else if ((m = /^WB-GST (\S+) (.*)$/.exec(t))) vec(m[1]!).gst.push(m[2]!);
    else if ((m = /^WB-ERROR (\S+) (.*)$/.exec(t))) {
      if (m[1] === '-') facts.errors.push(m[2]!);
      else vec(m[1]!).errors.push(m[2]!);
    }
  }
  return facts;
}
