import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConsoleCapture } from '../../src/target/console.ts';
import { power } from '../../src/target/power.ts';
import { RecordingRunner } from '../../src/core/runner.ts';
import type { Board } from '../../src/target/boards.ts';
import { vboardBoard } from '../../src/target/providers/vboard.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { classify, parseKernelLog } from '../../src/irq/kernelLog.ts';

describe('ConsoleCapture (node-pty)', () => {
  it('runs the console command on a real pty, captures to memory and a log file, classifies a panic', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'wb-console-')), 'console.log');
    // A stand-in serial console: checks it has a tty, prints kernel lines like a dying board, then echoes input.
    const cmd = `[ -t 0 ] && echo "tty ok"; printf '[  415.313001] Internal error: Oops: 0000000096000006 [#1]  SMP\\r\\n[  415.400000] Kernel panic - not syncing: Oops: Fatal exception\\r\\n'; stty -echo; read x; echo "got $x"`;
    const c = ConsoleCapture.command('rock5b', cmd, log);
    try {
      await c.waitFor(/Kernel panic/, 5000);
      expect(c.text()).toContain('tty ok');
      c.write('hello\r');
      await c.waitFor(/got hello/, 5000);
      const kinds = classify(parseKernelLog(c.text())).map((f) => f.kind);
      expect(kinds).toEqual(['oops', 'panic']);
      expect(c.text()).not.toContain('\r\n');
    } finally {
      await c.stop();
    }
    expect(readFileSync(log, 'utf8')).toContain('Kernel panic - not syncing');
  });

  it('waitFor names the board and shows the last lines on timeout', async () => {
    const c = ConsoleCapture.command('b1', 'echo booting; sleep 5');
    try {
      const e = await c.waitFor(/login:/, 300).catch((x) => x);
      expect(isWorkbenchError(e, 'E_CONSOLE_TIMEOUT')).toBe(true);
      expect(e.message).toContain('console of b1');
      expect(e.message).toContain('booting');
    } finally {
      await c.stop();
    }
  });

  it('a board without console gets a clear error', () => {
    expect(() => ConsoleCapture.start({ ...vboardBoard(), name: 'b2', console: undefined })).toThrow(/has no console command/);
  });
});

describe('power hooks', () => {
  const board: Board = { ...vboardBoard(), name: 'rock5b', source: '/x/boards.toml', power: { on: 'relay on 1', off: 'relay off 1' } };

  it('runs the hook through the Runner with the board in the environment', async () => {
    const r = new RecordingRunner();
    await power(board, 'on', r);
    expect(r.calls[0]!.argv).toEqual(['sh', '-c', 'relay on 1']);
    expect(r.calls[0]!.opts.env).toEqual({ WB_BOARD: 'rock5b', WB_POWER_ACTION: 'on' });
  });

  it('cycle falls back to off, wait, on', async () => {
    const r = new RecordingRunner();
    await power(board, 'cycle', r, { offMs: 10 });
    expect(r.calls.map((c) => c.argv[2])).toEqual(['relay off 1', 'relay on 1']);
  });

  it('no hook: E_NO_POWER_CONTROL naming the key and the file', async () => {
    const e = await power({ ...board, power: {} }, 'cycle', new RecordingRunner()).catch((x) => x);
    expect(isWorkbenchError(e, 'E_NO_POWER_CONTROL')).toBe(true);
    expect(e.hint).toContain('/x/boards.toml');
  });
});
