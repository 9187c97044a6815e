/**
 * Keeps an incremental build directory consistent when make is interrupted
 * (Ctrl-C, timeout, or the workbench itself killed while make runs).
 *
 * make runs as the leader of its own process group (see
 * `RunOptions.processGroup` in core/runner.ts). Before it starts, a marker
 * `make-running.json` in the build home records the group id, the leader's
 * start time (field 22 of /proc/PID/stat, proc(5)) and the wall time make
 * started. After an interrupted run (or, on the next build, when the marker
 * is still there because the workbench was killed) the group is killed if it
 * still runs, and every file make wrote after it started is removed: an
 * object file cut in the middle of its write would otherwise look up to date
 * to make (its mtime is newer than its source), and kbuild's `.cmd` files are
 * removed with it so the command line is checked again (kbuild `if_changed`,
 * scripts/Kbuild.include).
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../core/cache.ts';
import { signalGroup } from '../core/runner.ts';

/** Name of the marker in the build home. */
export const MAKE_MARKER = 'make-running.json';

/** Contents of {@link MAKE_MARKER}. */
export interface MakeMarker {
  /** Process group id (= PID of the group leader) on the host. */
  pgid: number;
  /** Leader's start time in clock ticks since boot (/proc/PID/stat field 22), or null when unreadable. */
  leaderStart: number | null;
  /** Date.now() just before make started (ms). */
  startedMs: number;
}

/** Field 22 (starttime) of /proc/PID/stat, or null. The comm field may hold spaces, so parse after its closing ')'. */
export async function processStartTime(pid: number): Promise<number | null> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const close = s.lastIndexOf(')');
  if (close < 0) return null;
  const fields = s.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); starttime is field 22.
  const v = Number(fields[22 - 3]);
  return Number.isFinite(v) ? v : null;
}

/** Writes the marker for a make group that just started. */
export async function recordMakeGroup(home: string, pgid: number, startedMs: number): Promise<void> {
  const marker: MakeMarker = { pgid, leaderStart: await processStartTime(pgid), startedMs };
  await writeFileAtomic(join(home, MAKE_MARKER), JSON.stringify(marker));
}

/** Removes the marker after make ended on its own. */
export async function clearMakeGroup(home: string): Promise<void> {
  await rm(join(home, MAKE_MARKER), { force: true });
}

/**
 * True while the group of `m` still has members that are ours. A PID number
 * stays reserved while a process group of that id exists (the kernel keeps
 * its struct pid), so a live group with that id and no process of that PID is
 * ours; a process of that PID with another start time means the number was
 * reused after our group ended.
 */
export async function groupAlive(m: Pick<MakeMarker, 'pgid' | 'leaderStart'>): Promise<boolean> {
  if (!signalGroup(m.pgid, 0)) return false;
  if (!existsSync(`/proc/${m.pgid}`)) return true;
  const st = await processStartTime(m.pgid);
  return m.leaderStart === null || st === m.leaderStart;
}

/**
 * Repairs `modDir` after an interrupted make recorded in `home`: kills what is
 * left of the group (SIGKILL, waits up to 5 s for it to go), removes every
 * file under `modDir` modified at or after make's start except `keep`
 * (relative paths: the sources the workbench placed there), and the marker.
 * Nothing to do (returns []) when there is no marker.
 *
 * @returns the removed paths, relative to `modDir`.
 */
export async function repairInterruptedMake(home: string, modDir: string, keep: ReadonlySet<string>, log?: (m: string) => void): Promise<string[]> {
  const file = join(home, MAKE_MARKER);
  let m: MakeMarker;
  try {
    m = JSON.parse(await readFile(file, 'utf8')) as MakeMarker;
  } catch {
    if (existsSync(file)) await rm(file, { force: true });
    return [];
  }
  if (await groupAlive(m)) {
    log?.(`make group ${m.pgid} of an interrupted build still runs: killing it`);
    signalGroup(m.pgid, 'SIGKILL');
    const until = Date.now() + 5000;
    while ((await groupAlive(m)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }
  const removed: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      const rel = relative(modDir, p);
      if (keep.has(rel)) continue;
      const st = await stat(p).catch(() => undefined);
      if (st && st.mtimeMs >= m.startedMs - 1) {
        await rm(p, { force: true });
        removed.push(rel);
      }
    }
  };
  await walk(modDir);
  if (removed.length)
    log?.(`interrupted build: removed ${removed.length} file(s) make was writing (${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', ...' : ''})`);
  await rm(file, { force: true });
  return removed.sort();
}
