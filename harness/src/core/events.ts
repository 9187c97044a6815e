import { EventEmitter } from 'node:events';

/** Status of a pipeline stage. */
export type StageStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/**
 * Events the pipeline emits; the UI (ink view, plain lines, JSON lines) only
 * listens to these (ARCHITECTURE.md: "the UI only listens to events").
 */
export type WorkbenchEvent =
  | { type: 'stage'; stage: string; status: StageStatus; durationMs?: number; detail?: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; stage?: string; message: string }
  | { type: 'progress'; stage: string; done: number; total: number; unit?: string }
  | { type: 'vector'; vector: string; verdict: string; detail?: string; durationMs?: number }
  | { type: 'run'; status: 'started' | 'finished' | 'interrupted'; runId: string; reportDir?: string };

/** A typed event bus for {@link WorkbenchEvent}. */
export class EventBus {
  private readonly ee = new EventEmitter();
  emit(e: WorkbenchEvent): void {
    this.ee.emit('event', e);
  }
  on(fn: (e: WorkbenchEvent) => void): () => void {
    this.ee.on('event', fn);
    return () => this.ee.off('event', fn);
  }
  /** Shorthand for a `log` event. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, stage?: string): void {
    this.emit({ type: 'log', level, message, ...(stage ? { stage } : {}) });
  }
}

/** Redacts secrets (LAVA tokens, Authorization headers, ?token=...) from text before it is logged or reported. */
export function redact(s: string): string {
  return s.replace(/(Authorization:\s*(?:Token|Bearer)\s+)\S+/gi, '$1[REDACTED]').replace(/((?:token|password|secret)[=:]\s*)[^\s&"']+/gi, '$1[REDACTED]');
}
