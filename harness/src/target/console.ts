import { tail } from '../core/text.ts';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { spawn, type IPty } from 'node-pty';
import { WorkbenchError } from '../core/errors.ts';
import type { Board } from './boards.ts';

/**
 * Serial console capture. The board's `console` command (a serial terminal
 * such as `picocom -b 1500000 /dev/ttyUSB0`, or `socat - TCP:host:port` for
 * a ser2net port) runs under a pseudo-terminal (node-pty), because such
 * programs expect a tty. Everything the console prints is kept in memory
 * and appended to a log file, so a kernel panic that takes SSH down with it
 * is still recorded and can be classified like the kernel log.
 */
export class ConsoleCapture {
  private readonly pty: IPty;
  private readonly log: WriteStream | undefined;
  private buf = '';
  private exited: { exitCode: number; signal?: number } | undefined;
  private readonly waiters: (() => void)[] = [];

  private constructor(
    readonly board: string,
    readonly command: string,
    logFile?: string,
  ) {
    if (logFile) {
      mkdirSync(dirname(logFile), { recursive: true });
      this.log = createWriteStream(logFile, { flags: 'a' });
    }
    this.pty = spawn('sh', ['-c', command], { name: 'xterm', cols: 240, rows: 50, env: { ...process.env, WB_BOARD: board } as Record<string, string> });
    let heldCR = '';
    this.pty.onData((d) => {
      // CRLF may be split across chunks: hold a trailing CR back until the next chunk.
      // (a pty and many serial consoles also send CR CR LF).
      let chunk = heldCR + d;
      const m = /\r+$/.exec(chunk);
      heldCR = m ? m[0] : '';
      if (m) chunk = chunk.slice(0, m.index);
      const clean = chunk.replace(/\r+\n/g, '\n');
      this.buf += clean;
      if (this.buf.length > 4_000_000) this.buf = this.buf.slice(-2_000_000);
      this.log?.write(clean);
      for (const w of this.waiters.splice(0)) w();
    });
    this.pty.onExit((e) => {
      this.exited = { exitCode: e.exitCode, ...(e.signal ? { signal: e.signal } : {}) };
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /**
   * Starts capturing the console of `board`.
   * @param logFile the capture is appended there too.
   * @throws WorkbenchError E_NO_CONSOLE when the board has no `console`.
   */
  static start(board: Board, logFile?: string): ConsoleCapture {
    if (!board.console) {
      throw new WorkbenchError('E_NO_CONSOLE', `board ${board.name} has no console command`, {
        hint: `set console = "..." for [board.${board.name}] in boards.toml (e.g. "picocom -q -b 1500000 /dev/ttyUSB0")`,
      });
    }
    return new ConsoleCapture(board.name, board.console, logFile);
  }

  /** Starts a capture of an arbitrary command (tests, and boards defined in code). */
  static command(board: string, command: string, logFile?: string): ConsoleCapture {
    return new ConsoleCapture(board, command, logFile);
  }

  /** Everything captured so far (CR LF turned into LF). */
  text(): string {
    return this.buf;
  }

  /** Whether the console command has ended (and how). */
  get exit(): { exitCode: number; signal?: number } | undefined {
    return this.exited;
  }

  /** Sends keystrokes to the console. */
  write(data: string): void {
    this.pty.write(data);
  }

  /**
   * Waits until the captured text matches `re`.
   * @throws WorkbenchError E_CONSOLE_TIMEOUT (shows the last lines).
   */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.buf.match(re);
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0 || this.exited) {
        throw new WorkbenchError(
          'E_CONSOLE_TIMEOUT',
          `console of ${this.board}: no match for ${re} within ${timeoutMs} ms${this.exited ? ` (console command exited ${this.exited.exitCode})` : ''}; last lines:\n${tail(this.buf, 5)}`,
          {
            hint: 'check the console command in boards.toml and that the board prints on that port',
          },
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Stops the console command and closes the log file. */
  async stop(): Promise<void> {
    if (!this.exited) {
      try {
        this.pty.kill();
      } catch {
        /* gone */
      }
      for (let i = 0; i < 40 && !this.exited; i++) await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise<void>((r) => (this.log ? this.log.end(() => r()) : r()));
  }
}
