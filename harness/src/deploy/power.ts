import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import type { Board } from '../target/boards.ts';
import { power } from '../target/power.ts';
import type { BoardProvider } from '../target/provider.ts';
import type { Target } from '../target/types.ts';

/**
 * Power-cycles a board and returns a connection to it once it answers
 * (the same target for a real board, a new one for the vboard, which comes
 * back on another port).
 */
export type PowerCycle = (log: (msg: string) => void) => Promise<Target>;

/** How long a real board may take to answer SSH after a power cycle, ms. */
export const BOOT_WAIT_MS = 300_000;

/**
 * The power control of `board`, or undefined when it has none:
 * - a board whose provider owns its power switch (the vboard: QEMU): the
 *   provider's `powerCycle` (target/provider.ts);
 * - a board with `power_cycle` (or `power_off` + `power_on`) in
 *   boards.toml: that hook (target/power.ts), then the board is polled
 *   over `target` until it answers (at most {@link BOOT_WAIT_MS}).
 */
export function powerCycleFor(board: Board, target: Target, runner: Runner, provider?: Pick<BoardProvider, 'powerCycle'>): PowerCycle | undefined {
  const own = provider?.powerCycle;
  if (own) return (log) => own(board, log, runner);
  if (!board.power.cycle && !(board.power.off && board.power.on)) return undefined;
  return async (log) => {
    await power(board, 'cycle', runner, { timeoutMs: 120_000 });
    log(`power hook of ${board.name} ran; waiting for the board to answer`);
    const end = Date.now() + BOOT_WAIT_MS;
    let last = '';
    // Give the board time to go down before the first probe (an old connection may still answer).
    await new Promise((r) => setTimeout(r, 5000));
    while (Date.now() < end) {
      try {
        await target.exec(['true'], { timeoutMs: 15_000 });
        return target;
      } catch (e) {
        last = (e as Error).message;
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    throw new WorkbenchError('E_UNREACHABLE', `board ${board.name} did not answer within ${BOOT_WAIT_MS / 1000} s after the power cycle: ${last}`, {
      hint: `check its console (\`workbench boards console ${board.name}\`); the repair finishes at the next \`workbench rollback --board ${board.name}\``,
    });
  };
}
