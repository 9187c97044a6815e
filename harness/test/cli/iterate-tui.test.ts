/**
 * The iterate command's views, end to end through a real process: the ink
 * live view under a pseudo-terminal (node-pty), Ctrl-C through the terminal,
 * plain lines without a TTY, and JSON event lines. The stages are fakes
 * (fixtures/fake-iterate.ts); everything else is the real command code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn as spawnPty } from 'node-pty';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/paths.ts';

const FIXTURE = join(projectRoot(), 'harness/test/cli/fixtures/fake-iterate.ts');
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wb-tui-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function ttyEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'CI' && !k.startsWith('VITEST')) env[k] = v;
  env.TERM = 'xterm-256color';
  env.FORCE_COLOR = '1';
  return env;
}

/** Runs the fixture in a pty; `onData` may type into it. */
function runPty(args: string[], onData?: (all: string, write: (s: string) => void) => void): Promise<{ out: string; exitCode: number }> {
  return new Promise((resolve) => {
    const p = spawnPty(process.execPath, ['--import', 'tsx', FIXTURE, '--reports-dir', dir, ...args], {
      cols: 110,
      rows: 30,
      cwd: projectRoot(),
      env: ttyEnv(),
    });
    let out = '';
    p.onData((d) => {
      out += d;
      onData?.(out, (s) => p.write(s));
    });
    p.onExit(({ exitCode }) => resolve({ out, exitCode }));
  });
}

function runPiped(args: string[]): Promise<{ out: string; exitCode: number }> {
  return new Promise((resolve) => {
    const env = ttyEnv();
    delete env.FORCE_COLOR;
    const p = spawn(process.execPath, ['--import', 'tsx', FIXTURE, '--reports-dir', dir, ...args], {
      cwd: projectRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ out, exitCode: code ?? -1 }));
  });
}

describe('workbench iterate --watch', () => {
  it('reruns when patches/ changes, stops on Ctrl-C (SIGINT), and diffs against the previous run', async () => {
    const patches = join(dir, 'patches');
    mkdirSync(patches);
    const reports = join(dir, 'reports');
    const env = ttyEnv();
    delete env.FORCE_COLOR;
    const p = spawn(process.execPath, ['--import', 'tsx', FIXTURE, '--reports-dir', reports, '--watch', '--patches', patches, '--vectors', 'a=pass'], {
      cwd: projectRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let step = 0;
    const exitCode = await new Promise<number>((resolve) => {
      const onData = (d: Buffer) => {
        out += d;
        if (step === 0 && out.includes('watching')) {
          step = 1;
          writeFileSync(join(patches, '0001-media-rkvdec-vp9.patch'), 'one-line change');
        } else if (step === 1 && (out.match(/watching/g) ?? []).length >= 2) {
          step = 2;
          p.kill('SIGINT');
        }
      };
      p.stdout.on('data', onData);
      p.stderr.on('data', onData);
      p.on('close', (code) => resolve(code ?? -1));
    });
    expect(step).toBe(2);
    expect(out).toContain('changed: 0001-media-rkvdec-vp9.patch');
    expect((out.match(/^finished /gm) ?? []).length).toBe(2);
    expect(out).toMatch(/diff \S+ -> \S+:\n {2}no change/);
    expect(exitCode).toBe(0);
    expect(readdirSync(reports)).toHaveLength(2);
  }, 60_000);
});

describe('workbench iterate views', () => {
  it('live view in a terminal: stages with status and durations, vectors as they arrive, counts, elapsed, ETA', async () => {
    const { out, exitCode } = await runPty(['--vector-ms', '300']);
    const text = out.replace(ANSI, '');
    expect(exitCode).toBe(1); // one vector fails
    // redrawn in place (cursor up + erase line), not a log of lines
    expect(out).toMatch(/\u001b\[1A\u001b\[2K/);
    // stages: running (spinner) then done with a duration
    expect(text).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] build/);
    expect(text).toMatch(/✓ build\s+\d+ ms 1 patch\(es\), visl/);
    expect(text).toMatch(/✓ decode\s+[\d.]+ (ms|s)/);
    // per-vector results as they arrive, counts, elapsed, ETA (known after the first vector)
    expect(text).toMatch(/✓ pass\s+vp90-2-00-quantizer-00/);
    expect(text).toMatch(/✗ fail\s+vp90-2-08-tile-4x4 .*first bad frame 3/);
    expect(text).toMatch(/1\/3 vectors: 1 pass/);
    expect(text).toContain('3/3 vectors: 1 pass, 1 fail, 1 not-supported');
    expect(text).toMatch(/elapsed \d+:\d\d/);
    expect(text).toContain('ETA -');
    expect(text).toMatch(/ETA \d+:\d\d/);
    // closing lines with the report
    expect(text).toMatch(/finished \S+ in .*1 pass, 1 fail/);
    expect(text).toContain('pixels NOT verified');
    const runs = readdirSync(dir);
    expect(runs).toHaveLength(1);
    expect(text).toContain(`report: ${join(dir, runs[0]!)}/index.html`);
  }, 60_000);

  it('Ctrl-C in the terminal stops cleanly: partial report marked incomplete, exit 2', async () => {
    let sent = false;
    const { out, exitCode } = await runPty(['--vectors', 'a=pass,b=pass,c=pass,d=pass,e=pass,f=pass', '--vector-ms', '500'], (all, write) => {
      if (!sent && /✓ pass\s+a/.test(all.replace(ANSI, ''))) {
        sent = true;
        write('\x03');
      }
    });
    const text = out.replace(ANSI, '');
    expect(sent).toBe(true);
    expect(exitCode).toBe(2);
    expect(text).toContain('stopping: killing remote processes');
    expect(text).toMatch(/INCOMPLETE \S+ in/);
    const runs = readdirSync(dir);
    expect(runs).toHaveLength(1); // no staging folder left behind
    const rec = JSON.parse(readFileSync(join(dir, runs[0]!, 'run.json'), 'utf8'));
    expect(rec.status).toBe('incomplete');
    expect(rec.incompleteReason).toMatch(/interrupted/);
    expect(rec.vectors.length).toBeGreaterThanOrEqual(1);
    expect(rec.vectors.length).toBeLessThan(6);
  }, 60_000);

  it('without a TTY: plain lines, no escape sequences', async () => {
    const { out, exitCode } = await runPiped([]);
    expect(exitCode).toBe(1);
    expect(out).not.toMatch(ANSI);
    expect(out).toMatch(/^\[0:00\] run \S+ started$/m);
    expect(out).toMatch(/^\[\d+:\d\d\] stage build: done \(\d+ ms\) 1 patch\(es\), visl$/m);
    expect(out).toMatch(/^\[\d+:\d\d\] vector 2\/3 vp90-2-08-tile-4x4: fail \(first bad frame 3/m);
    expect(out).toMatch(/^ {2}exit code 1$/m);
  }, 60_000);

  it('--json: one JSON object per line, events then the result', async () => {
    const { out, exitCode } = await runPiped(['--json']);
    expect(exitCode).toBe(1);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'run', status: 'started' });
    expect(lines.filter((l) => l.type === 'vector').map((l) => l.verdict)).toEqual(['pass', 'fail', 'not-supported']);
    expect(lines.some((l) => l.type === 'stage' && l.stage === 'deploy' && l.status === 'done' && typeof l.durationMs === 'number')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: 'result', exitCode: 1, status: 'complete', counts: { pass: 1, fail: 1, 'not-supported': 1 } });
  }, 60_000);
});
