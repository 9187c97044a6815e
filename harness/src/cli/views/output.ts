/**
 * How `workbench iterate` shows a run: the ink live view on a TTY, plain
 * lines without one (CI logs), or one JSON object per event with `--json`.
 */
import React from 'react';
import { render, type Instance } from 'ink';
import { redact, type EventBus, type WorkbenchEvent } from '../../core/events.ts';
import { IterateView } from './IterateView.tsx';
import { initialState, plainLine, reduce, type ViewState } from './iterateState.ts';

/** Output mode. */
export type OutputMode = 'tty' | 'plain' | 'json';

/** Picks the mode: `--json` wins; the live view needs a TTY and no CI. */
export function pickMode(opts: { json?: boolean; plain?: boolean }, stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): OutputMode {
  if (opts.json) return 'json';
  if (opts.plain || !stream.isTTY || env.CI === 'true' || env.TERM === 'dumb') return 'plain';
  return 'tty';
}

/** An attached view; `close()` stops listening (and unmounts ink after its last frame). */
export interface AttachedView {
  mode: OutputMode;
  /** Writes lines after the view (closing summary); in JSON mode pass an object instead. */
  print(lines: string[] | Record<string, unknown>): void;
  close(): Promise<void>;
}

/** Attaches a view of `mode` to `bus`, writing to `out`. */
export function attachView(bus: EventBus, mode: OutputMode, out: NodeJS.WriteStream, now: () => number = Date.now): AttachedView {
  if (mode === 'tty') {
    const ink: Instance = render(React.createElement(IterateView, { bus, now }), { stdout: out, exitOnCtrlC: false, patchConsole: false });
    return {
      mode,
      print: (lines) => {
        if (Array.isArray(lines)) out.write(lines.map(redact).join('\n') + '\n');
      },
      close: async () => {
        // let the last state render, then unmount (ink prints the final frame)
        await new Promise((r) => setTimeout(r, 50));
        ink.unmount();
        await ink.waitUntilExit().catch(() => undefined);
        out.write('\n');
      },
    };
  }
  let state: ViewState = initialState(now());
  let t0 = now();
  const off = bus.on((e: WorkbenchEvent) => {
    if (e.type === 'run' && e.status === 'started') t0 = now();
    state = reduce(state, e, now());
    if (mode === 'json') {
      out.write(redact(JSON.stringify({ ...e, elapsedMs: now() - t0 })) + '\n');
      return;
    }
    const line = plainLine(e, now() - t0, state);
    if (line !== undefined) out.write(redact(line) + '\n');
  });
  return {
    mode,
    print: (x) => {
      if (mode === 'json') out.write(redact(JSON.stringify(Array.isArray(x) ? { type: 'summary', lines: x } : x)) + '\n');
      else if (Array.isArray(x)) out.write(x.map(redact).join('\n') + '\n');
    },
    close: async () => off(),
  };
}
