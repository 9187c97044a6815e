import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecaRunner, RecordingRunner } from '../../src/core/runner.ts';
import { GIT_CONFIG, kgit } from '../../src/kernel/git.ts';

const tmp = mkdtempSync(join(tmpdir(), 'wb-git-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('kgit: the git funnel of the kernel stage', () => {
  it('runs git through the Runner: exact argv, isolated config and identity, redirecting variables removed', async () => {
    const rec = new RecordingRunner(() => ({ stdout: 'abc\n' }));
    expect(await kgit(rec, '/k/tree', { GIT_AUTHOR_DATE: '1 +0000' }).raw(['rev-parse', 'HEAD'])).toBe('abc\n');
    expect(rec.calls).toHaveLength(1);
    const { argv, opts } = rec.calls[0]!;
    expect(argv).toEqual(['git', '-C', '/k/tree', ...GIT_CONFIG.flatMap((c) => ['-c', c]), 'rev-parse', 'HEAD']);
    expect(opts.env).toMatchObject({
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      LC_ALL: 'C',
      GIT_AUTHOR_DATE: '1 +0000',
      GIT_AUTHOR_NAME: 'vp9-workbench',
    });
    expect(opts.env).toHaveProperty('GIT_DIR', undefined);
    expect(opts.env).toHaveProperty('GIT_WORK_TREE', undefined);
  });

  it("a failing git call is E_GIT with git's whole error output", async () => {
    const rec = new RecordingRunner(() => ({ exitCode: 128, stderr: 'fatal: first\nfatal: second\n' }));
    await expect(kgit(rec, '/k').raw(['show', 'nope'])).rejects.toMatchObject({
      code: 'E_GIT',
      message: expect.stringMatching(/exited with 128:\nfatal: first\nfatal: second$/),
    });
  });

  it("with the real git: commits under the workbench identity, ignores a GIT_DIR of the caller, and fails with git's message", async () => {
    const runner = new ExecaRunner();
    const dir = join(tmp, 'repo');
    const g = kgit(runner, tmp);
    await g.raw(['init', '-q', dir]);
    writeFileSync(join(dir, 'f'), 'x\n');
    const saved = process.env.GIT_DIR;
    process.env.GIT_DIR = join(tmp, 'elsewhere.git');
    try {
      const r = kgit(runner, dir, { GIT_AUTHOR_DATE: '1793199715 +0000', GIT_COMMITTER_DATE: '1793199715 +0000' });
      await r.raw(['add', 'f']);
      await r.raw(['commit', '-q', '-m', 'm']);
      expect((await r.raw(['log', '-1', '--format=%an <%ae>'])).trim()).toBe('vp9-workbench <workbench@localhost.invalid>');
      await expect(r.raw(['rev-parse', '--verify', 'no-such-ref'])).rejects.toMatchObject({
        code: 'E_GIT',
        message: expect.stringContaining('fatal: Needed a single revision'),
      });
    } finally {
      if (saved === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = saved;
    }
  });
});
