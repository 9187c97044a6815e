import { spawn } from 'node:child_process';
import { WorkbenchError } from '../../src/core/errors.ts';
import type { ExecOptions, ExecResult, Target } from '../../src/target/types.ts';

/**
 * A {@link Target} that runs argv on this machine (no SSH): unit tests of
 * our remote shell scripts against a temporary directory.
 */
export class LocalTarget implements Target {
  readonly calls: string[][] = [];
  constructor(
    readonly name = 'local',
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}
  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push(argv);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const p = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...this.env } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.stdin.on('error', () => undefined);
      p.stdin.end(opts.input ?? '');
      p.on('error', reject);
      p.on('close', (code) => {
        const r: ExecResult = { argv, exitCode: code ?? -1, stdout, stderr, durationMs: Date.now() - started, timedOut: false };
        if (r.exitCode !== 0 && !opts.allowFailure) reject(new WorkbenchError('E_REMOTE_FAILED', `${argv[0]} exited with ${r.exitCode}: ${stderr}`));
        else resolve(r);
      });
    });
  }
  async upload(): Promise<{ bytes: number; sha256: string }> {
    throw new Error('not used');
  }
  async download(): Promise<{ bytes: number; sha256: string }> {
    throw new Error('not used');
  }
  async kernelRelease(): Promise<string> {
    return 'local';
  }
  async close(): Promise<void> {}
}
