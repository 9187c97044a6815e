import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { exportFlusterSuite } from '../../src/fluster/export.ts';
import { validateFlusterSuite } from '../../src/fluster/suiteJson.ts';
import type { ReferenceSet } from '../../src/vectors/references.ts';
import type { Suite, SuiteVector } from '../../src/vectors/suites.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const tmp = () => mkdtempSync(join(tmpdir(), 'wb-flx-'));

/** A suite of small fake vector files (bytes are irrelevant: references are faked). */
function fakeSuite(dir: string, names: string[], over: Partial<SuiteVector> = {}): Suite {
  const vectors: SuiteVector[] = names.map((n, i) => {
    const path = join(dir, `${n}.ivf`);
    writeFileSync(path, `vector ${n} ${i}`);
    return { name: n, inputFile: `${n}.ivf`, outputFormat: null, expectedMd5: null, source: null, sourceChecksum: null, path, features: null, ...over };
  });
  return { name: 'fake-suite', codec: 'VP9', description: 'fake', origin: 'generated', file: '/dev/null', vectors };
}

/** Fake references: MD5 derived from the file name, one pixel format per file unless told. */
function fakeRefs(formats: Record<string, string[]> = {}) {
  const calls: string[] = [];
  const fn = async (path: string): Promise<ReferenceSet> => {
    calls.push(path);
    const base = path.split('/').pop()!;
    const fmts = formats[base] ?? ['yuv420p', 'yuv420p'];
    return {
      vector: base,
      vectorSha256: '0'.repeat(64),
      decoder: 'fake',
      command: 'fake',
      frames: fmts.map((f, index) => ({ index, width: 16, height: 16, bitDepth: 8, pixelFormat: f, i420: { sha256: '', xxh64: '' }, nv12: null })),
      md5: md5(`ref:${base}`),
      bytes: 0,
      crossCheck: null,
    };
  };
  return { fn, calls };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isWorkbenchError(e) ? e.code : String(e);
  }
}

describe('export-fluster', () => {
  it('writes a Fluster suite whose results are the reference MD5s and whose files are laid out for Fluster', async () => {
    const src = tmp();
    const out = tmp();
    const suite = fakeSuite(src, ['p0-a', 'p2-10bit', 'p1-444']);
    const refs = fakeRefs({ 'p2-10bit.ivf': ['yuv420p10le'], 'p1-444.ivf': ['yuv444p', 'yuv444p'] });
    const r = await exportFlusterSuite('fake-suite', out, { runner: new ExecaRunner(), suite, ensureReferences: refs.fn });
    expect(r.jsonPath).toBe(join(out, 'fake-suite.json'));
    const j = JSON.parse(readFileSync(r.jsonPath, 'utf8'));
    expect(Object.keys(j).sort()).toEqual(['codec', 'description', 'name', 'test_vectors']);
    expect(j.name).toBe('fake-suite');
    expect(j.codec).toBe('VP9');
    expect(j.test_vectors).toHaveLength(3);
    for (const v of j.test_vectors) {
      expect(Object.keys(v).sort()).toEqual(['input_file', 'name', 'output_format', 'result', 'source', 'source_checksum']);
      // Fluster reads <resources>/<suite>/<vector>/<input_file>
      const file = join(out, 'fake-suite', v.name, v.input_file);
      expect(existsSync(file)).toBe(true);
      expect(v.source_checksum).toBe(md5(readFileSync(file)));
      expect(v.source_checksum).toBe(md5(readFileSync(join(src, v.input_file))));
      expect(fileURLToPath(v.source)).toBe(file);
      expect(v.result).toBe(md5(`ref:${v.input_file}`));
    }
    expect(j.test_vectors.map((v: { output_format: string }) => v.output_format)).toEqual(['yuv420p', 'yuv420p10le', 'yuv444p']);
    expect(refs.calls).toEqual(suite.vectors.map((v) => v.path));
    // what we wrote passes our own strict schema
    expect(() => validateFlusterSuite(j, 'x.json')).not.toThrow();
  });

  it('writes the bare file name as source with relative', async () => {
    const out = tmp();
    const r = await exportFlusterSuite('fake-suite', out, {
      runner: new ExecaRunner(),
      suite: fakeSuite(tmp(), ['v1']),
      ensureReferences: fakeRefs().fn,
      source: 'relative',
    });
    expect(r.suite.test_vectors[0]!.source).toBe('v1.ivf');
  });

  it('refuses names Fluster cannot use, before writing anything', async () => {
    for (const bad of ['../evil', 'a b', '.hidden', 'x/y']) {
      const out = tmp();
      const suite = fakeSuite(tmp(), ['ok']);
      suite.vectors[0]!.name = bad;
      expect(await code(exportFlusterSuite('fake-suite', out, { runner: new ExecaRunner(), suite, ensureReferences: fakeRefs().fn })), bad).toBe(
        'E_FLUSTER_NAME',
      );
      expect(existsSync(join(out, 'fake-suite.json'))).toBe(false);
    }
    const dup = fakeSuite(tmp(), ['Vec', 'vec2']);
    dup.vectors[1]!.name = 'VEC';
    expect(await code(exportFlusterSuite('fake-suite', tmp(), { runner: new ExecaRunner(), suite: dup, ensureReferences: fakeRefs().fn }))).toBe(
      'E_FLUSTER_NAME',
    );
    const badSuite = fakeSuite(tmp(), ['ok']);
    badSuite.name = 'bad suite';
    expect(await code(exportFlusterSuite('x', tmp(), { runner: new ExecaRunner(), suite: badSuite, ensureReferences: fakeRefs().fn }))).toBe('E_FLUSTER_NAME');
  });

  it('refuses a suite with vectors not available here, naming them', async () => {
    const suite = fakeSuite(tmp(), ['a', 'b']);
    suite.vectors[1]!.path = null;
    await expect(exportFlusterSuite('fake-suite', tmp(), { runner: new ExecaRunner(), suite, ensureReferences: fakeRefs().fn })).rejects.toThrow(
      /1 of 2 vectors are not available here: b/,
    );
  });

  it('refuses mixed or unknown pixel formats and leaves no JSON', async () => {
    const out = tmp();
    const suite = fakeSuite(tmp(), ['a', 'mixed']);
    const refs = fakeRefs({ 'mixed.ivf': ['yuv420p', 'yuv444p'] });
    expect(await code(exportFlusterSuite('fake-suite', out, { runner: new ExecaRunner(), suite, ensureReferences: refs.fn }))).toBe('E_FLUSTER_FORMAT');
    expect(existsSync(join(out, 'fake-suite.json'))).toBe(false);
    const odd = fakeRefs({ 'a.ivf': ['gbrp'] });
    expect(await code(exportFlusterSuite('fake-suite', tmp(), { runner: new ExecaRunner(), suite: fakeSuite(tmp(), ['a']), ensureReferences: odd.fn }))).toBe(
      'E_FLUSTER_FORMAT',
    );
  });

  it('reports an imported suite whose own result differs from libvpx', async () => {
    const suite = fakeSuite(tmp(), ['a', 'b']);
    suite.vectors[0]!.expectedMd5 = md5('ref:a.ivf');
    suite.vectors[1]!.expectedMd5 = 'f'.repeat(32);
    const r = await exportFlusterSuite('fake-suite', tmp(), { runner: new ExecaRunner(), suite, ensureReferences: fakeRefs().fn });
    expect(r.vectors[0]!.suiteResultDiffers).toBeUndefined();
    expect(r.vectors[1]!.suiteResultDiffers).toBe('f'.repeat(32));
  });

  it('schema: rejects extra keys, bad MD5s and case-duplicate names, naming the key', () => {
    const v = { name: 'a', source: 'a.ivf', source_checksum: md5('a'), input_file: 'a.ivf', output_format: 'yuv420p', result: md5('b') };
    expect(() => validateFlusterSuite({ name: 's', codec: 'VP9', description: '', test_vectors: [{ ...v, extra: 1 }] }, 's.json')).toThrow(/test_vectors\.0/);
    expect(() => validateFlusterSuite({ name: 's', codec: 'VP9', description: '', test_vectors: [{ ...v, result: 'XYZ' }] }, 's.json')).toThrow(
      /test_vectors\.0\.result/,
    );
    expect(() => validateFlusterSuite({ name: 's', codec: 'VP9', description: '', test_vectors: [v, { ...v, name: 'A' }] }, 's.json')).toThrow(
      /test_vectors\.1\.name.*ignoring case/,
    );
  });
});
