/**
 * A board kind that exists only in tests: one file, registered by the test
 * that uses it (`plugins.providers.register(fakeBoardKind)`), with nothing
 * changed in the pipeline. Its board `sim0` is an arm64 board whose driver
 * under test is `fakedrv` and whose decoder is the fake backend of
 * test/decode/backends/fakeDecoder.ts. Its Target answers the few commands
 * the decode stage sends: the board lock script, the kernel-log marker and
 * `dmesg`, the IRQ instrumentation script (answers that it switched it on).
 */
import { DEFAULT_MODULE_DIR, type Board } from '../../../src/target/boards.ts';
import type { BoardProvider } from '../../../src/target/provider.ts';
import type { ExecOptions, ExecResult, Target } from '../../../src/target/types.ts';
import { scriptNameOf } from '../../../src/core/scripts.ts';

/** The fake board's Target: records every command, keeps the kernel log in memory. */
export class FakeBoardTarget implements Target {
  readonly commands: string[][] = [];
  /** Kernel-log lines (dmesg -r format); a marker written through /dev/kmsg is appended. */
  readonly kernelLog: string[] = ['<6>[    1.000000] fakedrv: probed'];
  /** Lines to append to the kernel log after the next marker (what the next vector makes the kernel say). */
  afterMarker: string[] = [];

  constructor(readonly name: string) {}

  async exec(argv: string[], _o?: ExecOptions): Promise<ExecResult> {
    this.commands.push(argv);
    const line = argv.join(' ');
    let stdout = '';
    const script = scriptNameOf(argv);
    if (script === 'boardLock' && argv.includes('acquire')) stdout = 'acquired\n';
    else if (script === 'boardLock' && argv.includes('release')) stdout = 'removed\n';
    else if (script === 'irqEnable') stdout = 'ENABLED param:irq_trace=1\n';
    else if (line.includes('/dev/kmsg')) {
      this.kernelLog.push(`<12>[   20.000000] ${argv.at(-1)}`, ...this.afterMarker);
      this.afterMarker = [];
    } else if (line.includes('dmesg')) stdout = this.kernelLog.join('\n') + '\n';
    return { argv, exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false };
  }

  async upload(): Promise<{ bytes: number; sha256: string }> {
    return { bytes: 0, sha256: '' };
  }

  async download(): Promise<{ bytes: number; sha256: string }> {
    return { bytes: 0, sha256: '' };
  }

  async kernelRelease(): Promise<string> {
    return '7.2.0-fake-arm64';
  }

  async close(): Promise<void> {}
}

/** Targets handed out by the kind, by board name (the test inspects them). */
export const fakeTargets = new Map<string, FakeBoardTarget>();

/** The `fake-sim` board kind. */
export const fakeBoardKind: BoardProvider = {
  kind: 'fake-sim',
  recordKind: 'board',
  builtinBoards: (): Board[] => [
    {
      name: 'sim0',
      kind: 'fake-sim',
      arch: 'arm64',
      driver: 'fakedrv',
      decoder: 'fake-vp9',
      transport: 'ssh',
      moduleDir: DEFAULT_MODULE_DIR,
      power: {},
      labels: ['fake'],
      source: 'built-in',
    },
  ],
  ensureReady: async () => ({ detail: 'sim0 simulated', commands: [['fake-sim', 'start']] }),
  connect: (board) => {
    const t = new FakeBoardTarget(board.name);
    fakeTargets.set(board.name, t);
    return t;
  },
  shellArgv: (board) => ['fake-ssh', board.name],
  address: (board) => `fake:${board.name}`,
};
