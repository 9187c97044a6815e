import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkbenchError } from '../core/errors.ts';
import type { ExecOptions, ExecResult, Target } from './types.ts';

/**
 * Remote shell scripts kept as `*.sh` files next to the TypeScript that
 * runs them, so that each one is a real file: it has its own `$0` and usage
 * line, runs by hand on a board (`sh NAME.sh ARGS...`), and is checked by
 * shellcheck. On a board a script runs as `sh -c TEXT NAME ARGS...`: the
 * text is one argument and every argument is quoted by target/quote.ts
 * (through {@link Target.exec}), never interpolated into the text.
 */

/** A remote script read from its file. */
export interface RemoteScript {
  /** File name without `.sh`: the script's `$0` on the board. */
  readonly name: string;
  /** Absolute path of the `.sh` file. */
  readonly path: string;
  /** The script's text. */
  readonly text: string;
}

const cache = new Map<string, RemoteScript>();

/**
 * Reads `file` (resolved against `base`, normally the caller's
 * `import.meta.url`) once per process.
 * @example const RELOAD = loadScript(import.meta.url, 'reload.sh');
 * @throws WorkbenchError E_INTERNAL when the file is missing (a broken checkout).
 */
export function loadScript(base: string | URL, file: string): RemoteScript {
  const path = fileURLToPath(new URL(file, base));
  let s = cache.get(path);
  if (!s) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new WorkbenchError('E_INTERNAL', `remote script ${path} is missing: ${(e as Error).message}`, { hint: 'the checkout is incomplete: run `git status` / `git checkout -- .`' });
    }
    s = { name: basename(path).replace(/\.sh$/, ''), path, text };
    cache.set(path, s);
  }
  return s;
}

/** The argv that runs `script` with `args` on a board: `sh -c TEXT NAME ARGS...`. */
export function scriptArgv(script: RemoteScript, args: readonly string[] = []): string[] {
  return ['sh', '-c', script.text, script.name, ...args];
}

/** Runs `script` on `target` (see {@link scriptArgv}); errors as {@link Target.exec}. */
export function runScript(target: Target, script: RemoteScript, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
  return target.exec(scriptArgv(script, args), opts);
}
