import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkbenchError } from './errors.ts';

/**
 * Shell scripts kept as `*.sh` files next to the TypeScript that runs them,
 * so that each one is a real file: it has its own `$0` and usage line, runs
 * by hand (`sh NAME.sh ARGS...`), and is checked by shellcheck
 * (`npm run shellcheck`). A script runs as `sh -c TEXT NAME ARGS...`: the
 * text is one argument and the arguments are positional, never interpolated
 * into the text. On a board, target/scripts.ts runs it through the Target
 * (which quotes every argument); locally, through the Runner.
 */

/** A shell script read from its file. */
export interface ShellScript {
  /** File name without `.sh`: the script's `$0`. */
  readonly name: string;
  /** Absolute path of the `.sh` file. */
  readonly path: string;
  /** The script's text. */
  readonly text: string;
}

const cache = new Map<string, ShellScript>();

/**
 * Reads `file` (resolved against `base`, normally the caller's
 * `import.meta.url`) once per process.
 * @example const ENABLE = loadScript(import.meta.url, 'irqEnable.sh');
 * @throws WorkbenchError E_INTERNAL when the file is missing (a broken checkout).
 */
export function loadScript(base: string | URL, file: string): ShellScript {
  const path = fileURLToPath(new URL(file, base));
  let s = cache.get(path);
  if (!s) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new WorkbenchError('E_INTERNAL', `shell script ${path} is missing: ${(e as Error).message}`, {
        hint: 'the checkout is incomplete: run `git status` / `git checkout -- .`',
      });
    }
    s = { name: basename(path).replace(/\.sh$/, ''), path, text };
    cache.set(path, s);
  }
  return s;
}

/** The argv that runs `script` with `args`: `sh -c TEXT NAME ARGS...`. */
export function scriptArgv(script: ShellScript, args: readonly string[] = []): string[] {
  return ['sh', '-c', script.text, script.name, ...args];
}

/**
 * The name of the script an argv runs (`sh -c TEXT NAME ...` → NAME), for
 * fakes in unit tests that answer per script; undefined for other argv.
 */
export function scriptNameOf(argv: readonly string[]): string | undefined {
  return argv[0] === 'sh' && argv[1] === '-c' ? argv[3] : undefined;
}
