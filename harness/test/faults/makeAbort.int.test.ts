/**
 * Ctrl-C during make: the whole process group goes at once, and the build
 * directory is left so that the next make does not take a half-written object
 * for an up-to-date one. Real GNU make (host, and inside the real toolbox
 * chroot with its own PID namespace), real sleep/sh workers.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../src/core/paths.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { MAKE_MARKER, recordMakeGroup, repairInterruptedMake } from '../../src/kernel/makeGroup.ts';
import { ensureToolbox } from '../../src/toolbox/toolbox.ts';

/** PIDs of every process whose process group (field 5 of /proc/PID/stat, proc(5)) is `pgid`. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let s: string;
    try {
      s = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid && f[0] !== 'Z') out.push(Number(d));
  }
  return out;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/**
 * Two long recipes run by make -j2: `half.o` writes part of itself, then
 * sleeps (a compiler cut in the middle of its output); `slow.o` forks a
 * grandchild sleep that would outlive a plain kill of make. `done.o` is built
 * first and complete.
 */
const MAKEFILE = [
  'all: done.o half.o slow.o',
  'done.o: src.c ; cp src.c $@',
  'half.o: done.o ; printf partial > $@; sleep 60; printf rest >> $@',
  'slow.o: done.o ; sh -c "sleep 61 & wait"; touch $@',
  '',
].join('\n');

const work = mkdtempSync(join(tmpdir(), 'wb-make-abort-'));
afterAll(() => rmSync(work, { recursive: true, force: true })); // our own mkdtemp directory

describe('Ctrl-C during make', () => {
  it('kills make and every worker at once (process group), make removes the target it was writing', async () => {
    const dir = join(work, 'host');
    mkdirSync(dir);
    writeFileSync(join(dir, 'Makefile'), MAKEFILE);
    writeFileSync(join(dir, 'src.c'), 'int x;\n');
    const ac = new AbortController();
    let pgid = 0;
    const p = new ExecaRunner().run(['make', '-j2', '-C', dir], {
      signal: ac.signal,
      processGroup: true,
      allowFailure: true,
      onProcessGroup: (g) => (pgid = g),
    });
    const caught = p.catch((e: unknown) => e);
    expect(await waitFor(() => existsSync(join(dir, 'half.o')) && groupMembers(pgid).length >= 4, 10_000)).toBe(true);
    const before = groupMembers(pgid);
    const t0 = Date.now();
    ac.abort();
    const err = await caught;
    const gone = await waitFor(() => groupMembers(pgid).length === 0, 1500);
    const took = Date.now() - t0;
    expect(err).toMatchObject({ code: 'E_ABORTED' });
    expect(gone).toBe(true);
    expect(took).toBeLessThan(1500);
    expect(before.length).toBeGreaterThanOrEqual(4); // make, two recipe shells, sleeps
    // GNU make deletes a target whose recipe was interrupted ("Deleting file 'half.o'").
    expect(existsSync(join(dir, 'half.o'))).toBe(false);
    expect(readFileSync(join(dir, 'done.o'), 'utf8')).toBe('int x;\n');
  });

  it('without the group option a cancelled make waits for a worker that outlives make (what the group kill fixes)', async () => {
    const dir = join(work, 'plain');
    mkdirSync(dir);
    writeFileSync(join(dir, 'Makefile'), 'all: ; sh -c "sleep 4 & wait"\n');
    const ac = new AbortController();
    const p = new ExecaRunner().run(['make', '-C', dir], { signal: ac.signal, allowFailure: true });
    const sleeping = () =>
      readdirSync('/proc').some((d) => {
        try {
          return /^\d+$/.test(d) && readFileSync(`/proc/${d}/cmdline`, 'utf8') === 'sleep\u00004\u0000';
        } catch {
          return false;
        }
      });
    expect(await waitFor(sleeping, 10_000)).toBe(true);
    const t0 = Date.now();
    ac.abort();
    await p.catch(() => undefined);
    // make got the signal, but the orphaned sleep kept the output pipe open until it ended by itself.
    expect(Date.now() - t0).toBeGreaterThan(2500);
  });

  it('the workbench killed while make ran: the next build kills the orphaned group and removes what it was writing', async () => {
    const dir = join(work, 'orphan');
    const home = join(work, 'orphan-home');
    mkdirSync(dir);
    mkdirSync(home);
    writeFileSync(join(dir, 'Makefile'), MAKEFILE);
    writeFileSync(join(dir, 'src.c'), 'int x;\n');
    let pgid = 0;
    const started = Date.now();
    const ac = new AbortController();
    // Stands for the killed workbench: the group is recorded, then nobody waits for it.
    const p = new ExecaRunner().run(['make', '-j2', '-C', dir], {
      signal: ac.signal,
      processGroup: true,
      allowFailure: true,
      onProcessGroup: (g) => {
        pgid = g;
        void recordMakeGroup(home, g, started);
      },
    });
    void p.catch(() => undefined);
    // `printf partial > half.o`: the shell creates the file before printf writes, so wait for the content, not the name
    const halfWritten = () => existsSync(join(dir, 'half.o')) && readFileSync(join(dir, 'half.o'), 'utf8') === 'partial';
    expect(await waitFor(() => halfWritten() && existsSync(join(home, MAKE_MARKER)), 10_000)).toBe(true);
    const removed = await repairInterruptedMake(home, dir, new Set(['Makefile', 'src.c']));
    expect(groupMembers(pgid)).toEqual([]);
    // SIGKILL leaves make no time to delete half.o: the repair does, with every other output of that run.
    expect(removed).toEqual(['done.o', 'half.o']);
    expect(readdirSync(dir).sort()).toEqual(['Makefile', 'src.c']);
    expect(existsSync(join(home, MAKE_MARKER))).toBe(false);
    ac.abort();
  });

  it('inside the real toolbox (own PID namespace): the abort reaches make and its workers there too', async () => {
    const tb = await ensureToolbox({ runner: new ExecaRunner() });
    const dir = mkdtempSync(join(cacheRoot(), '..', 'wb-make-abort-tb-'));
    try {
      writeFileSync(join(dir, 'Makefile'), MAKEFILE);
      writeFileSync(join(dir, 'src.c'), 'int x;\n');
      const ac = new AbortController();
      let pgid = 0;
      const p = tb.exec(['make', '-j2'], {
        cwd: '/wb/mod',
        binds: [{ host: dir, inside: '/wb/mod' }],
        signal: ac.signal,
        onProcessGroup: (g) => (pgid = g),
        allowFailure: true,
      });
      const caught = p.catch((e: unknown) => e);
      expect(await waitFor(() => existsSync(join(dir, 'half.o')) && groupMembers(pgid).length >= 5, 20_000)).toBe(true);
      const t0 = Date.now();
      ac.abort();
      expect(await caught).toMatchObject({ code: 'E_ABORTED' });
      expect(await waitFor(() => groupMembers(pgid).length === 0, 1500)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(existsSync(join(dir, 'half.o'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
