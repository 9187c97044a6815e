import { simpleGit, type SimpleGit } from 'simple-git';

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

/**
 * A simple-git handle on `dir` with {@link isolatedGitEnv} and
 * {@link GIT_CONFIG}. `maxConcurrentProcesses` 1: kernel trees are big and the
 * machine has 2 cores.
 */
export function kgit(dir: string, env: Record<string, string> = {}): SimpleGit {
  return simpleGit({
    baseDir: dir,
    config: [...GIT_CONFIG],
    maxConcurrentProcesses: 1,
    trimmed: false,
    unsafe: { allowUnsafeConfigPaths: true },
  }).env(isolatedGitEnv(env));
}

/** The equivalent shell argv of a kgit call (for reproducer command lists). */
export function gitArgv(dir: string, args: string[]): string[] {
  return ['git', '-C', dir, ...GIT_CONFIG.flatMap((c) => ['-c', c]), ...args];
}
