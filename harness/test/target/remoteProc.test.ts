import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { KILL_TREE, PidMarkerParser, WRAP_SCRIPT, killTreeArgv, wrappedCommandLine } from '../../src/target/remoteProc.ts';
import { scriptArgv } from '../../src/target/scripts.ts';

function alive(tag: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', tag], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('PidMarkerParser', () => {
  it('strips the marker line, even split across chunks, and keeps the rest', () => {
    const p = new PidMarkerParser();
    const out: Buffer[] = [];
    const all = Buffer.from('\u001eWB-PID 4242\nreal stderr\n');
    for (let i = 0; i < all.length; i += 3) out.push(p.push(all.subarray(i, i + 3)));
    out.push(p.flush());
    expect(p.pid).toBe(4242);
    expect(Buffer.concat(out).toString()).toBe('real stderr\n');
  });
  it('passes through stderr of commands that were not wrapped', () => {
    const p = new PidMarkerParser();
    expect(p.push(Buffer.from('modprobe: FATAL\n')).toString()).toBe('modprobe: FATAL\n');
    expect(p.pid).toBeUndefined();
  });
});

describe('wrapper + kill-tree scripts under a real sh (as sshd would run them: new session)', () => {
  it('the wrapper keeps the PID, passes argv through and the exit code back', () => {
    const out = execFileSync('sh', ['-c', wrappedCommandLine(['sh', '-c', 'echo "$$ $1"; exit 0', 'x', "a 'b' $(c)"])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toMatch(/^\d+ a 'b' \$\(c\)\n$/);
  });

  it('plain commands go through the wrapper with their argv intact', () => {
    const r = spawnSync('sh', ['-c', wrappedCommandLine(['printf', '%s|', 'a b', "c'd", '$(x)'])], { encoding: 'utf8' });
    expect(r.stdout).toBe("a b|c'd|$(x)|");
    const p = new PidMarkerParser();
    expect(p.push(Buffer.from(r.stderr)).toString()).toBe('');
    expect(p.pid).toBeGreaterThan(1);
  });

  it('sh -c scripts keep $0 and their positional arguments', () => {
    const r = spawnSync('sh', ['-c', wrappedCommandLine(['sh', '-c', 'echo "$0|$1|$2|$#"', 'name', 'a b', ''])], { encoding: 'utf8' });
    expect(r.stdout).toBe('name|a b||2\n');
  });

  for (const shell of ['sh', 'bash']) {
    it(`kills the whole tree (children, grandchildren, a child that called setsid) via ${shell}`, async () => {
      const n = `${process.pid}${shell.length}`;
      const tag = `sleep 30[123][.]${n}`;
      // A command that starts background children, a grandchild and a setsid'd child, then waits.
      const script = `sleep 301.${n} & sh -c 'sleep 302.${n} & wait' & setsid sleep 303.${n} & trap '' TERM HUP INT; wait`;
      const child = spawn(shell, ['-c', wrappedCommandLine(['sh', '-c', script, 'x'])], {
        detached: true, // like sshd: the command is a session leader
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const parser = new PidMarkerParser();
      child.stderr.on('data', (b: Buffer) => parser.push(b));
      for (let i = 0; i < 100 && (parser.pid === undefined || alive(tag).length < 3); i++) await new Promise((r) => setTimeout(r, 50));
      expect(parser.pid).toBe(child.pid);
      expect(alive(tag).length).toBeGreaterThanOrEqual(3);
      const exited = new Promise<number | null>((r) => child.on('exit', (_c, s) => r(s === 'SIGKILL' ? -9 : _c)));
      const [, ...args] = killTreeArgv(parser.pid!);
      const out = execFileSync('sh', args, { encoding: 'utf8' });
      expect(out).toMatch(/^killed( \d+)+\n$/);
      expect(await exited).toBe(-9);
      for (let i = 0; i < 40 && alive(tag).length; i++) await new Promise((r) => setTimeout(r, 50));
      expect(alive(tag)).toEqual([]);
    });
  }

  it('refuses a non-numeric pid', () => {
    const [, ...args] = scriptArgv(KILL_TREE, ['1;reboot']);
    expect(() => execFileSync('sh', args, { stdio: 'pipe' })).toThrow();
  });

  it('WRAP_SCRIPT is plain POSIX (no bashisms)', () => {
    expect(WRAP_SCRIPT).not.toMatch(/\[\[|\$\{[^}]*\/\/|function /);
  });
});
