import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { WorkbenchError } from '../../src/core/errors.ts';
import type { ExecOptions, ExecResult, Target } from '../../src/target/types.ts';

/** One call the fake saw. */
export interface FakeCall {
  kind: 'exec' | 'upload' | 'download';
  argv: string[];
  input?: string;
}

/**
 * A fake {@link Target} for unit tests of our own logic: records every argv
 * (and stdin) and answers through `respond`. Non-zero exits throw like the
 * real one unless allowFailure.
 */
export class FakeTarget implements Target {
  readonly calls: FakeCall[] = [];
  constructor(
    readonly name: string,
    private readonly respond: (argv: string[], input: string | undefined) => Partial<ExecResult> | Promise<Partial<ExecResult>> = () => ({}),
  ) {}

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const input = opts.input === undefined ? undefined : String(opts.input);
    this.calls.push({ kind: 'exec', argv, ...(input !== undefined ? { input } : {}) });
    const r: ExecResult = { argv, exitCode: 0, stdout: '', stderr: '', durationMs: 0, timedOut: false, ...(await this.respond(argv, input)) };
    if (!opts.allowFailure && r.exitCode !== 0) throw new WorkbenchError('E_REMOTE_FAILED', `${this.name}: ${argv[0]} exited with ${r.exitCode}: ${r.stderr}`);
    return r;
  }

  async upload(localPath: string, remotePath: string): Promise<{ bytes: number; sha256: string }> {
    this.calls.push({ kind: 'upload', argv: [localPath, remotePath] });
    const b = readFileSync(localPath);
    return { bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  }

  async download(remotePath: string, localPath: string): Promise<{ bytes: number; sha256: string }> {
    this.calls.push({ kind: 'download', argv: [remotePath, localPath] });
    writeFileSync(localPath, '');
    return { bytes: 0, sha256: createHash('sha256').update('').digest('hex') };
  }

  async kernelRelease(): Promise<string> {
    return (await this.exec(['uname', '-r'])).stdout.trim();
  }

  async close(): Promise<void> {}
}
