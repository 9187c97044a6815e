import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The Fluster plugin's own logic, without Fluster: a stand-in `fluster`
 * package (pystub/) provides `Decoder`, `register_decoder`, `Codec` and
 * `OutputFormat`; a fake `workbench` on PATH records its argv and prints
 * what the scenario asks for.
 */
const here = resolve(import.meta.dirname);
const plugin = resolve(here, '../../../fluster-adapters/workbench_decoder.py');

function run(modes: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wb-flplug-'));
  const bin = join(dir, 'bin');
  execFileSync('mkdir', [bin]);
  symlinkSync(join(here, 'fixtures', 'fake-workbench'), join(bin, 'workbench'));
  const argvFile = join(dir, 'argv.jsonl');
  const stdout = execFileSync('python3', ['-B', join(here, 'fixtures', 'plugin_check.py'), modes.join(',')], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      PYTHONPATH: `${join(here, 'pystub')}:${resolve(here, '../../../fluster-adapters')}`,
      TMPDIR: dir,
      FAKE_WB_ARGV: argvFile,
      ...env,
    },
    encoding: 'utf8',
  });
  let argv: string[][] = [];
  try {
    argv = readFileSync(argvFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
  } catch {
    argv = [];
  }
  return { out: JSON.parse(stdout.trim().split('\n').pop()!), argv };
}

describe('Fluster plugin workbench_decoder.py', () => {
  it('compiles', () => {
    const cfile = join(mkdtempSync(join(tmpdir(), 'wb-flpyc-')), 'x.pyc');
    execFileSync('python3', ['-c', 'import sys, py_compile; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)', plugin, cfile]);
  });

  it('registers one hardware VP9 decoder and returns the workbench MD5 (lower case) for pass and fail', () => {
    const { out, argv } = run(['pass', 'fail']);
    expect(out.registered).toEqual(['Workbench-VP9-V4L2SL']);
    expect(out.codec).toBe('VP9');
    expect(out.hw).toBe(true);
    expect(out.check).toBe(true);
    expect(out.scenarios.pass).toEqual({ md5: '0123456789abcdef0123456789abcdef', output_written: false });
    // a wrong picture is not an exception: Fluster compares the MD5 and says Fail
    expect(out.scenarios.fail.md5).toBe('0123456789abcdef0123456789abcdef');
    expect(argv[0]).toEqual([
      'decode',
      '--board',
      'vboard',
      '--decoder',
      'gst-v4l2sl-vp9',
      '--mode',
      'pixels',
      '--timeout',
      '7000',
      '--json',
      '--',
      '/vectors/a b.ivf',
    ]);
  });

  it('takes the board, decoder and command from the environment', () => {
    const { argv } = run(['pass'], { WORKBENCH_BOARD: 'rock5b-1', WORKBENCH_DECODER: 'libvpx-vp9', WORKBENCH_CMD: 'workbench --no-color-ignored' });
    expect(argv[0]!.slice(0, 6)).toEqual(['--no-color-ignored', 'decode', '--board', 'rock5b-1', '--decoder', 'libvpx-vp9']);
  });

  it('maps timeout to TimeoutExpired and not-supported/error/no-result to an exception with the reason', () => {
    const { out } = run(['timeout', 'not-supported', 'error', 'garbage']);
    expect(out.scenarios.timeout).toMatchObject({ exception: 'TimeoutExpired', timeout: 7 });
    expect(out.scenarios['not-supported']).toMatchObject({
      exception: 'WorkbenchDecodeError',
      message: 'workbench verdict not-supported: driver refused VP9 profile 1',
    });
    expect(out.scenarios.error).toMatchObject({ exception: 'WorkbenchDecodeError' });
    expect(out.scenarios.garbage.exception).toBe('WorkbenchDecodeError');
    expect(out.scenarios.garbage.message).toMatch(/exited with 2 without a result: .*cannot reach the board/s);
  });

  it("with keep_files moves the decoded stream to Fluster's output path", () => {
    const { out, argv } = run(['pass-keep']);
    expect(out.scenarios['pass-keep']).toMatchObject({ md5: '0123456789abcdef0123456789abcdef', output_written: true });
    expect(argv[0]).toContain('--keep-raw');
  });

  it('check() is false when the workbench command is not found', () => {
    const { out } = run([], { WORKBENCH_CMD: 'no-such-workbench-binary' });
    expect(out.check).toBe(false);
  });
});
