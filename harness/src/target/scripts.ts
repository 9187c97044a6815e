import { scriptArgv, type ShellScript } from '../core/scripts.ts';
import type { ExecOptions, ExecResult, Target } from './types.ts';

/**
 * Remote shell scripts: `*.sh` files next to the TypeScript that runs them
 * (read by core/scripts.ts {@link loadScript}), run on a board as
 * `sh -c TEXT NAME ARGS...` with every argument quoted by target/quote.ts
 * (through {@link Target.exec}), never interpolated into the text.
 */
export { loadScript, scriptArgv } from '../core/scripts.ts';

/** A remote script read from its file. */
export type RemoteScript = ShellScript;

/** Runs `script` on `target` (see {@link scriptArgv}); errors as {@link Target.exec}. */
export function runScript(target: Target, script: RemoteScript, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
  return target.exec(scriptArgv(script, args), opts);
}
