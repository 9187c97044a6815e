/**
 * `workbench series b4` against the real thing: b4 0.16 and git in the
 * toolbox, the pinned base tree, the real patches/ series. Messages are only
 * written (`b4 send -o`), never mailed. Needs root and the toolbox + base
 * tree (cached by the other kernel integration tests; ~17 s per run here).
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';

const isRoot = process.getuid?.() === 0;

async function workbench(args: string[]) {
  return execa('node', [join(projectRoot(), 'harness/bin/workbench.js'), ...args], { reject: false });
}

describe.runIf(isRoot)('series b4 (real b4 in the toolbox)', () => {
  it(
    'the real series: 6 messages written, base-commit and change-id in the cover letter, every pre-flight check ok',
    async () => {
      const tmp = await mkdtemp(join(tmpdir(), 'wb-b4-int-'));
      try {
        const out = join(tmp, 'out');
        const r = await workbench(['series', 'b4', '--out', out, '--json']);
        expect(r.stderr).not.toMatch(/^error/im);
        expect(r.exitCode).toBe(0);
        const res = JSON.parse(r.stdout);
        const files = (await readdir(out)).sort();
        expect(files).toHaveLength(6);
        expect(files).toEqual(res.files);
        const cover = await readFile(join(out, files[0]!), 'utf8');
        const coverSrc = await readFile(join(projectRoot(), 'patches', '0000-cover-letter.patch'), 'utf8');
        const wantBase = /^base-commit: (\S+)$/m.exec(coverSrc)![1]!;
        const wantChange = /^change-id: (\S+)$/m.exec(coverSrc)![1]!;
        expect(cover).toMatch(/^Subject: \[PATCH 0\/5\] media: rkvdec: /m);
        expect(cover).toContain(`\nbase-commit: ${wantBase}\n`);
        expect(cover).toContain(`\nchange-id: ${wantChange}\n`);
        expect(cover).not.toContain('EDITME');
        expect(cover).toMatch(/^To: .*@/m);
        expect(res.preflight.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
        expect(res.check.totals.error).toBe(0);
        for (const f of files.slice(1)) expect(await readFile(join(out, f), 'utf8')).toMatch(/^Signed-off-by: VP9 Workbench </m);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
    15 * 60_000,
  );

  it(
    'a patch without Signed-off-by: messages written, pre-flight fails, exit 1',
    async () => {
      const tmp = await mkdtemp(join(tmpdir(), 'wb-b4-int-'));
      try {
        const ser = join(tmp, 'patches');
        await cp(join(projectRoot(), 'patches'), ser, { recursive: true });
        const p2 = join(
          ser,
          (await readdir(ser)).find((f) => f.startsWith('0002-'))!,
        );
        const text = await readFile(p2, 'utf8');
        await writeFile(p2, text.replace(/^Signed-off-by: .*\n/m, ''));
        const r = await workbench(['series', 'b4', '--series', ser, '--out', join(tmp, 'out')]);
        expect(r.exitCode).toBe(1);
        expect(r.stdout).toMatch(/^NOT b4-ready: 6 message\(s\)/m);
        expect(r.stdout).toContain('[FAIL] Signed-off-by: missing in patch 2');
        expect(r.stdout).toContain('[ok] change-id: ');
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
    15 * 60_000,
  );
});
