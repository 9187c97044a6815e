import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportFlusterSuite, type ExportResult } from '../../src/fluster/export.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

/**
 * Real components: generates vp9-features (cached), exports it with the
 * libvpx references, then checks every exported `result` against the real
 * `vpxdec` the way Fluster's libvpx-VP9 decoder computes it
 * (`vpxdec --i420 FILE -o - | md5sum`; `--rawvideo` for formats --i420
 * refuses, as Fluster 0.8 does for output formats other than yuv420p), and
 * decodes one vector through the Fluster plugin with the real workbench
 * (host decoder libvpx-vp9, so no board is needed).
 */

/** MD5 of a command's stdout and its exit code. */
function md5Of(argv: string[]): Promise<{ md5: string; bytes: number; code: number | null }> {
  return new Promise((res, rej) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    const h = createHash('md5');
    let bytes = 0;
    p.stdout.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
    });
    p.on('error', rej);
    p.on('close', (code) => res({ md5: h.digest('hex'), bytes, code }));
  });
}

const root = resolve(import.meta.dirname, '../../..');
let out: string;
let r: ExportResult;

describe('export-fluster vp9-features against the real vpxdec', () => {
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'wb-flx-int-'));
    r = await exportFlusterSuite('vp9-features', out, { runner: new ExecaRunner() });
  });

  it("exports every vector of the suite with Fluster's exact keys", () => {
    const j = JSON.parse(readFileSync(join(out, 'vp9-features.json'), 'utf8'));
    expect(j.test_vectors.length).toBe(19);
    expect(j.codec).toBe('VP9');
    const formats = new Set(j.test_vectors.map((v: { output_format: string }) => v.output_format));
    expect(formats).toEqual(new Set(['yuv420p', 'yuv420p10le', 'yuv444p']));
  });

  it('result == vpxdec --i420 FILE -o - | md5sum (--rawvideo where --i420 refuses the stream)', async () => {
    for (const v of r.suite.test_vectors) {
      const file = join(out, 'vp9-features', v.name, v.input_file);
      const i420 = await md5Of(['vpxdec', '--i420', file, '-o', '-']);
      if (v.output_format === 'yuv444p') {
        // libvpx cannot write 4:4:4 as I420: it exits 1 with no output
        expect(i420.code, v.name).not.toBe(0);
        expect(i420.bytes, v.name).toBe(0);
        const raw = await md5Of(['vpxdec', '--rawvideo', file, '-o', '-']);
        expect(raw.code, v.name).toBe(0);
        expect(raw.md5, v.name).toBe(v.result);
      } else {
        expect(i420.code, v.name).toBe(0);
        expect(i420.md5, v.name).toBe(v.result);
      }
    }
  });

  it('the Fluster plugin, driving the real workbench, returns the exported result', () => {
    const v = r.suite.test_vectors.find((x) => x.name === 'p0-lossless')!;
    const script = [
      'import sys',
      'sys.dont_write_bytecode = True',
      'import workbench_decoder',
      'from fluster.decoder import DECODERS',
      'from fluster.codec import OutputFormat',
      'print(DECODERS[0].decode(sys.argv[1], sys.argv[2], OutputFormat.YUV420P, 120, False, False))',
    ].join('\n');
    const got = execFileSync('python3', ['-B', '-c', script, join(out, 'vp9-features', v.name, v.input_file), join(out, 'p0-lossless.out')], {
      env: {
        ...process.env,
        PYTHONPATH: `${join(root, 'harness/test/fluster/pystub')}:${join(root, 'fluster-adapters')}`,
        WORKBENCH_CMD: `${process.execPath} ${join(root, 'harness/bin/workbench.js')}`,
        WORKBENCH_DECODER: 'libvpx-vp9',
      },
      encoding: 'utf8',
    }).trim();
    expect(got).toBe(v.result);
  });
});
