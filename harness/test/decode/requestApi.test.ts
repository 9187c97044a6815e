import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { DECODE, parseWatchMarkers, waitRelease } from '../../src/decode/requestApi.ts';
import { loadScript, runScript, scriptArgv } from '../../src/target/scripts.ts';
import { LocalTarget } from '../target/localTarget.ts';

/**
 * The request-API board scripts (decode/request*.sh) run for real on this
 * machine through a LocalTarget, against temporary files: the expected
 * values are what the test itself wrote or held open.
 */
const dir = () => mkdtempSync(join(tmpdir(), 'wb-request-'));

describe('requestDecode.sh', () => {
  it("streams the client's output file to stdout, reports its exit code and creates the output's folder", async () => {
    const out = join(dir(), 'sub', 'out.yuv');
    // the client writes two chunks and exits 3
    const client = ['sh', '-c', 'printf abc > "$1"; sleep 0.2; printf def >> "$1"; exit 3', 'client', out];
    const r = await new LocalTarget().exec(scriptArgv(DECODE, [out, 'v4l2codecs-*:4', ...client]), { allowFailure: true });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('abcdef');
    const m = parseWatchMarkers(r.stderr);
    expect(m.exit).toBe(3);
    expect(m.opened).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 97 when the output cannot be prepared', async () => {
    const d = dir();
    writeFileSync(join(d, 'file'), '');
    const r = await new LocalTarget().exec(scriptArgv(DECODE, [join(d, 'file', 'out.yuv'), '', 'true']), { allowFailure: true });
    expect(r.exitCode).toBe(97);
  });
});

describe('requestCommitInputs.sh', () => {
  it('moves each TMP to its FINAL (creating folders) and names each file moved', async () => {
    const d = dir();
    writeFileSync(join(d, 't1'), 'one');
    const final = join(d, 'x', 'y', 'v.ivf');
    const script = loadScript(new URL('../../src/decode/', import.meta.url), 'requestCommitInputs.sh');
    const r = await runScript(new LocalTarget(), script, [join(d, 't1'), final, join(d, 'missing'), join(d, 'z', 'w.ivf')]);
    expect(r.stdout.trim().split('\n')).toEqual([`MOVED ${final}`]);
    expect(readFileSync(final, 'utf8')).toBe('one');
  });
});

describe('requestWaitRelease.sh', () => {
  it('BUSY while a process holds the file open (E_BOARD_BUSY), FREE once it is gone', async () => {
    const file = join(dir(), 'video9');
    writeFileSync(file, '');
    const holder = spawn('sh', ['-c', 'exec 3<"$1"; exec sleep 30', 'holder', file], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const t = new LocalTarget();
    try {
      const busy = await waitRelease(t, file, 400).catch((e: unknown) => e);
      expect(isWorkbenchError(busy, 'E_BOARD_BUSY')).toBe(true);
      expect((busy as Error).message).toContain(`${holder.pid}/task/${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.on('exit', r));
    }
    const free = await waitRelease(t, file, 400);
    expect(free.stuck).toEqual([]);
  });
});
