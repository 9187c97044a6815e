import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';
import type { WorkbenchEvent } from '../../src/core/events.ts';

/**
 * Two real `workbench iterate` on the same board at once (issue item 5):
 * the board lock (target/boardLock.ts) makes the second one wait, saying
 * "board vboard held by PID <first> on <host> since <time> (iterate)", from
 * its deploy until the first one's last vector; deploys and decodes never
 * interleave; both end with exit 0. Runs the real CLI (build from cache,
 * deploy with backup and verify, one vector decoded through visl) on the
 * board the integration tests use (a private one with
 * WORKBENCH_STATE_DIR/WORKBENCH_CONFIG_DIR).
 */
const CLI = join(projectRoot(), 'harness', 'bin', 'workbench.js');
const reports = mkdtempSync(join(tmpdir(), 'wb-iterate-lock-'));
afterAll(() => rmSync(reports, { recursive: true, force: true }));

interface Seen {
  at: number;
  e: WorkbenchEvent;
}

/** `workbench iterate --json` with each event time-stamped as it arrives. */
function iterate(): { pid: number; done: Promise<{ code: number | null; events: Seen[]; stderr: string }> } {
  const p = spawn(process.execPath, [CLI, 'iterate', '--json', '--no-check', '--vectors', 'p0-keyframe-only', '--reports-dir', reports], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Seen[] = [];
  let stderr = '';
  let partial = '';
  p.stdout.on('data', (b: Buffer) => {
    partial += b.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      try {
        events.push({ at: Date.now(), e: JSON.parse(l) as WorkbenchEvent });
      } catch {
        /* not an event line */
      }
    }
  });
  p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return { pid: p.pid!, done: new Promise((res) => p.on('close', (code) => res({ code, events, stderr }))) };
}

const logs = (s: Seen[]) => s.filter((x) => x.e.type === 'log').map((x) => (x.e as { message: string }).message);
const stageAt = (s: Seen[], stage: string, status: string) =>
  s.find((x) => x.e.type === 'stage' && x.e.stage === stage && x.e.status === status)?.at ?? Number.NaN;

describe('two `workbench iterate` on one board at once', () => {
  // First run green on 2026-12-02 (33 s, the build from the cache).
  it(
    'the second waits for the board ("held by PID … since …"), deploys and decodes never interleave, both exit 0',
    async () => {
      const a = iterate();
      // The second starts while the first is on its way (its build comes from the cache: both reach the deploy).
      await new Promise((r) => setTimeout(r, 3000));
      const b = iterate();
      const [ra, rb] = await Promise.all([a.done, b.done]);
      const tail = (r: { stderr: string; events: Seen[] }) => `${r.stderr.slice(-2000)}\n${logs(r.events).slice(-15).join('\n')}`;
      expect(ra.code, tail(ra)).toBe(0);
      expect(rb.code, tail(rb)).toBe(0);
      // Exactly one of them waited, naming the other's PID.
      const waitedA = logs(ra.events).find((m) => /held by PID/.test(m));
      const waitedB = logs(rb.events).find((m) => /held by PID/.test(m));
      expect([waitedA, waitedB].filter(Boolean)).toHaveLength(1);
      const [first, second, secondPid, firstPid] = waitedB ? [ra, rb, b.pid, a.pid] : [rb, ra, a.pid, b.pid];
      expect(waitedA ?? waitedB).toMatch(
        new RegExp(`^board vboard held by PID ${firstPid} on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT\\S+ \\(iterate\\); waiting up to \\d+ s$`),
      );
      expect(secondPid).not.toBe(firstPid);
      // Never interleaved: the second's deploy finished after the first's last vector, and its vector came after that.
      const firstVectors = first.events.filter((x) => x.e.type === 'vector').map((x) => x.at);
      const secondVectors = second.events.filter((x) => x.e.type === 'vector').map((x) => x.at);
      expect(firstVectors).toHaveLength(1);
      expect(secondVectors).toHaveLength(1);
      expect(stageAt(first.events, 'deploy', 'done')).toBeLessThan(firstVectors[0]!);
      expect(stageAt(second.events, 'deploy', 'done')).toBeGreaterThan(Math.max(...firstVectors));
      expect(secondVectors[0]!).toBeGreaterThan(stageAt(second.events, 'deploy', 'done'));
    },
    40 * 60_000,
  );
});
