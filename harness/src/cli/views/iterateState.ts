/**
 * What the iterate views show, derived from pipeline events only (the UI
 * listens to events; it never calls stages): stage statuses and durations,
 * per-vector results as they arrive, counts, elapsed time and ETA. Pure
 * functions, shared by the ink view and the plain-line output.
 */
import type { StageStatus, WorkbenchEvent } from '../../core/events.ts';
import { formatDuration } from '../../report/summarize.ts';

/** A stage as the view knows it. */
export interface StageView {
  name: string;
  status: StageStatus;
  /** Wall-clock ms when it started running. */
  startedAt?: number;
  durationMs?: number;
  detail?: string;
}

/** A finished vector. */
export interface VectorView {
  name: string;
  verdict: string;
  detail?: string;
  durationMs?: number;
}

/** The whole view state. */
export interface ViewState {
  runId?: string;
  startedAt: number;
  stages: StageView[];
  vectors: VectorView[];
  /** Vectors planned (from the decode stage's progress). */
  total?: number;
  /** When the first vector started decoding (for the ETA). */
  decodeStartedAt?: number;
  /** Last warnings/errors (at most 5). */
  notes: { level: string; message: string; stage?: string }[];
  finished?: { status: 'finished' | 'interrupted'; reportDir?: string };
}

/** A fresh state at time `now` (ms). */
export function initialState(now: number): ViewState {
  return { startedAt: now, stages: [], vectors: [], notes: [] };
}

/** Applies one event (returns a new state object; the arrays are copied where they change). */
export function reduce(s: ViewState, e: WorkbenchEvent, now: number): ViewState {
  switch (e.type) {
    case 'run':
      if (e.status === 'started') return { ...initialState(now), runId: e.runId };
      return { ...s, finished: { status: e.status, ...(e.reportDir ? { reportDir: e.reportDir } : {}) } };
    case 'stage': {
      const stages = [...s.stages];
      const i = stages.findIndex((x) => x.name === e.stage);
      const prev = i >= 0 ? stages[i]! : { name: e.stage, status: 'pending' as StageStatus };
      const next: StageView = {
        ...prev,
        status: e.status,
        ...(e.status === 'running' && prev.status !== 'running' ? { startedAt: now } : {}),
        ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}),
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      };
      if (i >= 0) stages[i] = next;
      else stages.push(next);
      return { ...s, stages };
    }
    case 'progress':
      if (e.stage !== 'decode') return s;
      return { ...s, total: e.total, ...(s.decodeStartedAt === undefined ? { decodeStartedAt: now } : {}) };
    case 'vector':
      return {
        ...s,
        vectors: [
          ...s.vectors,
          {
            name: e.vector,
            verdict: e.verdict,
            ...(e.detail ? { detail: e.detail } : {}),
            ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}),
          },
        ],
      };
    case 'log':
      if (e.level !== 'warn' && e.level !== 'error') return s;
      return { ...s, notes: [...s.notes, { level: e.level, message: e.message, ...(e.stage ? { stage: e.stage } : {}) }].slice(-5) };
  }
}

/** Verdict counts of the vectors so far. */
export function counts(s: ViewState): Record<string, number> {
  const c: Record<string, number> = {};
  for (const v of s.vectors) c[v.verdict] = (c[v.verdict] ?? 0) + 1;
  return c;
}

/**
 * Estimated ms until the decode stage ends: the mean time per finished vector
 * times the vectors left. Undefined until one vector finished.
 */
export function etaMs(s: ViewState, now: number): number | undefined {
  if (s.total === undefined || s.decodeStartedAt === undefined || s.vectors.length === 0) return undefined;
  const left = s.total - s.vectors.length;
  if (left <= 0) return 0;
  return ((now - s.decodeStartedAt) / s.vectors.length) * left;
}

/** "1:05" (m:ss) or "1:02:03". */
export function clock(ms: number): string {
  const t = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Symbol of a verdict for terminals. */
export function verdictMark(v: string): string {
  return v === 'pass' ? '✓' : v === 'not-supported' ? '–' : '✗';
}

/** Symbol of a stage status. */
export function stageMark(st: StageStatus, spin = '…'): string {
  return st === 'done' ? '✓' : st === 'failed' ? '✗' : st === 'skipped' ? '-' : st === 'running' ? spin : '○';
}

/** "3/10 vectors: 2 pass, 1 fail" */
export function countsLine(s: ViewState): string {
  const c = counts(s);
  const parts = Object.entries(c).map(([k, n]) => `${n} ${k}`);
  return `${s.vectors.length}/${s.total ?? '?'} vectors${parts.length ? ': ' + parts.join(', ') : ''}`;
}

/**
 * The plain line for an event (CI logs, no TTY), or undefined when the event
 * is not worth a line (pending stages, progress, debug logs). `elapsedMs`
 * prefixes the line; `s` is the state after {@link reduce} applied `e`.
 */
export function plainLine(e: WorkbenchEvent, elapsedMs: number, s: ViewState): string | undefined {
  const t = `[${clock(elapsedMs)}]`;
  switch (e.type) {
    case 'run':
      return e.status === 'started' ? `${t} run ${e.runId} started` : `${t} run ${e.runId} ${e.status}${e.reportDir ? `: report ${e.reportDir}` : ''}`;
    case 'stage':
      if (e.status === 'pending') return undefined;
      // a running stage's detail update: its final line carries the detail
      if (e.status === 'running' && e.detail !== undefined) return undefined;
      return `${t} stage ${e.stage}: ${e.status === 'failed' ? 'FAILED' : e.status}${e.durationMs !== undefined ? ` (${formatDuration(e.durationMs)})` : ''}${e.detail ? ` ${e.detail}` : ''}`;
    case 'vector':
      return `${t} vector ${s.vectors.length}/${s.total ?? '?'} ${e.vector}: ${e.verdict}${e.detail && e.verdict !== 'pass' ? ` (${e.detail})` : ''}${e.durationMs !== undefined ? ` ${formatDuration(e.durationMs)}` : ''}`;
    case 'log':
      if (e.level === 'debug') return undefined;
      return `${t} ${e.level === 'info' ? '' : e.level.toUpperCase() + ' '}${e.stage ? `${e.stage}: ` : ''}${e.message}`;
    case 'progress':
      return undefined;
  }
}
