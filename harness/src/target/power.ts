import { WorkbenchError } from '../core/errors.ts';
import type { Runner, RunResult } from '../core/runner.ts';
import type { Board } from './boards.ts';

/** A power action of a board. */
export type PowerAction = 'on' | 'off' | 'cycle';

/**
 * Runs the board's power hook (`power_on`, `power_off`, `power_cycle` in
 * boards.toml): a host shell command line written by the board's owner
 * (relay, PDU, smart plug CLI...), run through the Runner as `sh -c CMD`
 * with `WB_BOARD` and `WB_POWER_ACTION` in its environment. `cycle`
 * without a `power_cycle` hook runs `off`, waits `offMs`, then `on`.
 *
 * @throws WorkbenchError E_NO_POWER_CONTROL (no hook configured; names the
 *   board and the keys), E_COMMAND_FAILED / E_COMMAND_TIMEOUT from the hook.
 */
export async function power(board: Board, action: PowerAction, runner: Runner, opts: { timeoutMs?: number; offMs?: number } = {}): Promise<RunResult[]> {
  const run = (cmd: string, a: PowerAction) =>
    runner.run(['sh', '-c', cmd], { timeoutMs: opts.timeoutMs ?? 60_000, env: { WB_BOARD: board.name, WB_POWER_ACTION: a } });
  const hook = board.power[action];
  if (hook) return [await run(hook, action)];
  if (action === 'cycle' && board.power.off && board.power.on) {
    const off = await run(board.power.off, 'off');
    await new Promise((r) => setTimeout(r, opts.offMs ?? 3000));
    return [off, await run(board.power.on, 'on')];
  }
  throw new WorkbenchError(
    'E_NO_POWER_CONTROL',
    `board ${board.name} has no power_${action} command${action === 'cycle' ? ' (nor power_off + power_on)' : ''}`,
    {
      hint: `set power_${action} for [board.${board.name}] in ${board.source === 'built-in' ? 'boards.toml' : board.source}`,
    },
  );
}
