/**
 * The live view of `workbench iterate` on a TTY (ink): finished vectors
 * scroll above (Static), and a footer shows the stages with status and
 * duration, the counts, elapsed time and ETA. It only listens to events.
 */
import React, { useEffect, useState } from 'react';
import { Box, Static, Text } from 'ink';
import type { EventBus } from '../../core/events.ts';
import { formatDuration } from '../../report/summarize.ts';
import { clock, countsLine, etaMs, initialState, reduce, stageMark, verdictMark, type ViewState } from './iterateState.ts';

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const VERDICT_COLOR: Record<string, string> = {
  pass: 'green',
  fail: 'red',
  timeout: 'yellow',
  error: 'magenta',
  'not-supported': 'gray',
  crash: 'redBright',
};

/** Props of {@link IterateView}. */
export interface IterateViewProps {
  bus: EventBus;
  /** Clock (tests). */
  now?: () => number;
  /** Re-render period for elapsed/ETA, ms (default 250). */
  tickMs?: number;
}

/** Subscribes to the bus and renders the run. */
export function IterateView({ bus, now = Date.now, tickMs = 250 }: IterateViewProps): React.ReactElement {
  const [state, setState] = useState<ViewState>(() => initialState(now()));
  const [tick, setTick] = useState(0);
  useEffect(() => bus.on((e) => setState((s) => reduce(s, e, now()))), [bus]);
  useEffect(() => {
    if (state.finished) return;
    const t = setInterval(() => setTick((x) => x + 1), tickMs);
    return () => clearInterval(t);
  }, [state.finished, tickMs]);
  const t = now();
  const eta = etaMs(state, t);
  const spin = SPIN[tick % SPIN.length]!;
  return (
    <Box flexDirection="column">
      <Static items={state.vectors.map((v, i) => ({ ...v, key: `${i}` }))}>
        {(v) => (
          <Text key={v.key}>
            <Text color={VERDICT_COLOR[v.verdict] ?? 'white'}>
              {verdictMark(v.verdict)} {v.verdict.padEnd(13)}
            </Text>{' '}
            {v.name}
            {v.durationMs !== undefined ? <Text dimColor> {formatDuration(v.durationMs)}</Text> : null}
            {v.detail && v.verdict !== 'pass' ? <Text dimColor> {v.detail}</Text> : null}
          </Text>
        )}
      </Static>
      <Box marginTop={state.vectors.length ? 1 : 0}>
        <Text bold>vp9-workbench iterate</Text>
        <Text dimColor>
          {state.runId ? `  run ${state.runId}` : ''}
          {`  elapsed ${clock(t - state.startedAt)}`}
          {`  ETA ${eta === undefined ? '-' : clock(eta)}`}
        </Text>
      </Box>
      {state.stages.map((s) => (
        <Text key={s.name}>
          <Text color={s.status === 'done' ? 'green' : s.status === 'failed' ? 'red' : s.status === 'running' ? 'cyan' : 'gray'}>
            {'  '}
            {stageMark(s.status, spin)} {s.name.padEnd(8)}
          </Text>
          <Text dimColor>
            {' '}
            {(s.status === 'running' && s.startedAt !== undefined ? formatDuration(t - s.startedAt) : formatDuration(s.durationMs)).padStart(8)}
          </Text>
          {s.detail ? <Text> {s.detail}</Text> : null}
        </Text>
      ))}
      <Text>
        {'  '}
        {countsLine(state)}
      </Text>
      {state.notes.map((n, i) => (
        <Text key={i} color={n.level === 'error' ? 'red' : 'yellow'}>
          {'  '}
          {n.level}: {n.stage ? `${n.stage}: ` : ''}
          {n.message}
        </Text>
      ))}
    </Box>
  );
}
