import { WorkbenchError } from '../core/errors.ts';
import { formatArgv, type Runner } from '../core/runner.ts';

/**
 * Fixed identity of every commit the workbench itself makes (the base commit,
 * and the committer of series commits applied with `git am`). Part of what
 * makes the base-commit id the same on every machine.
 */
export const WORKBENCH_IDENT = { name: 'vp9-workbench', email: 'workbench@localhost.invalid' } as const;

/**
 * The environment git runs with: the user's global and system git config are
 * ignored (GIT_CONFIG_GLOBAL=/dev/null, GIT_CONFIG_NOSYSTEM=1) so hooks,
 * autocrlf, signing or excludes on the machine cannot change what is
 * committed; LC_ALL=C so messages parse.
 */
export function isolatedGitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LC_ALL: 'C',
    LANG: 'C',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: WORKBENCH_IDENT.name,
    GIT_AUTHOR_EMAIL: WORKBENCH_IDENT.email,
    GIT_COMMITTER_NAME: WORKBENCH_IDENT.name,
    GIT_COMMITTER_EMAIL: WORKBENCH_IDENT.email,
    ...extra,
  };
  return env;
}

/** `-c` settings applied to every git call on kernel trees (content must not be filtered). */
export const GIT_CONFIG: readonly string[] = [
  'core.autocrlf=false',
  'core.safecrlf=false',
  'core.fileMode=true',
  'core.symlinks=true',
  'commit.gpgsign=false',
  'gc.auto=0',
  'advice.detachedHead=false',
];

/** Git on one directory: every call is a process run through the Runner, so tests record it like any other command. */
export interface Git {
  readonly dir: string;
  /**
   * Runs `git -C DIR -c ... ARGS` ({@link gitArgv}) with {@link isolatedGitEnv}.
   * @returns its standard output, untrimmed.
   * @throws WorkbenchError E_GIT when git exits non-zero (the message holds git's whole error output).
   */
  raw(args: string[]): Promise<string>;
}

/** Git variables of the caller's environment that would point git elsewhere (removed for every call). */
const REDIRECTING_GIT_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
];

/**
 * The one git funnel of the kernel stage: `git` on `dir` through `runner`
 * with {@link isolatedGitEnv} (+ `env`) and {@link GIT_CONFIG}, one call at a
 * time (callers await each call: kernel trees are big and the machine has 2 cores).
 */
export function kgit(runner: Runner, dir: string, env: Record<string, string> = {}): Git {
  const fullEnv: Record<string, string | undefined> = { ...Object.fromEntries(REDIRECTING_GIT_ENV.map((k) => [k, undefined])), ...isolatedGitEnv(env) };
  return {
    dir,
    async raw(args: string[]): Promise<string> {
      const argv = gitArgv(dir, args);
      const r = await runner.run(argv, { env: fullEnv, allowFailure: true, timeoutMs: 60 * 60_000 });
      if (r.exitCode !== 0) {
        throw new WorkbenchError(
          'E_GIT',
          `${formatArgv(argv)} exited with ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}:\n${(r.stderr || r.stdout).trimEnd()}`,
        );
      }
      return r.stdout;
    },
  };
}

/** The equivalent shell argv of a kgit call (for reproducer command lists). */
export function gitArgv(dir: string, args: string[]): string[] {
  return ['git', '-C', dir, ...GIT_CONFIG.flatMap((c) => ['-c', c]), ...args];
}
