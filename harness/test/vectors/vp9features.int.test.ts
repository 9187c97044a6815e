import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../src/core/runner.ts';
import { projectRoot } from '../../src/core/paths.ts';
import { coverageTable } from '../../src/vectors/coverage.ts';
import { compareFrameTrace, ffmpegTraceHeaders } from '../../src/vectors/ffmpegTrace.ts';
import { generateSuite, vpxencArgv, type GenerateResult } from '../../src/vectors/generate/generate.ts';
import { loadRecipes } from '../../src/vectors/generate/recipes.ts';
import { inspectBuffer, inspectFile } from '../../src/vectors/inspect.ts';
import { ensureReferences } from '../../src/vectors/references.ts';
import { storeVector } from '../../src/vectors/store.ts';
import { writeUncompressedHeader } from '../../src/vectors/vp9/writer.ts';
import { writeY4m } from '../../src/vectors/generate/synth.ts';

/**
 * The generated suite end to end with the real vpxenc, vpxdec and ffmpeg,
 * from an empty cache: generation, coverage, references (MD5 = vpxdec's
 * own output, every frame agreeing with ffmpeg's native decoder), the
 * inspector against ffmpeg's trace_headers on every element of every frame,
 * checksum and truncation errors.
 */
const runner = new ExecaRunner();
const cache = mkdtempSync(join(tmpdir(), 'wb-vp9features-'));
const recipes = loadRecipes();
let gen: GenerateResult;
const path = (name: string) => gen.vectors.find((v) => v.name === name)!.path;

beforeAll(async () => {
  gen = await generateSuite({ runner: new ExecaRunner(), cacheRoot: cache });
  console.log(`vp9-features: ${gen.vectors.length} vectors generated from an empty cache in ${gen.ms} ms (${gen.encoder})`);
}, 900_000);

describe('vp9-features generation', () => {
  it('builds every recipe, each exercising the features it promises, and the suite covers every required feature', () => {
    expect(gen.vectors.map((v) => v.name)).toEqual(recipes.vectors.map((r) => r.name));
    expect(gen.vectors.every((v) => !v.cached && v.covers.every((f) => v.features.includes(f)))).toBe(true);
    const t = coverageTable(
      gen.suite,
      gen.vectors.map((v) => ({ name: v.name, features: v.features })),
      recipes.impossible,
    );
    expect(t.missing).toEqual([]);
    expect(gen.encoder).toMatch(/VP9 Encoder v\d+\.\d+/);
  });

  it('is cached by recipe hash: a second run builds nothing and gives the same files', async () => {
    const again = await generateSuite({ runner: new ExecaRunner(), cacheRoot: cache });
    expect(again.vectors.every((v) => v.cached)).toBe(true);
    expect(again.vectors.map((v) => v.sha256)).toEqual(gen.vectors.map((v) => v.sha256));
  });
});

describe.each(recipes.vectors.map((r) => [r.name, r] as const))('vector %s', (name, recipe) => {
  it("references: whole-output MD5 equals vpxdec's own output MD5, every frame agrees with ffmpeg native", async () => {
    const file = path(name);
    const refs = await ensureReferences(file, { runner: new ExecaRunner(), cacheRoot: cache });
    // 8-bit 4:2:0: `vpxdec --i420 FILE -o - | md5sum` (Fluster); 10-bit and 4:4:4: --rawvideo
    const plain = recipe.source.bitDepth === 8 && recipe.source.chroma === '420';
    const raw = await runner.run(['vpxdec', plain ? '--i420' : '--rawvideo', file, '-o', '-'], { binaryStdout: true });
    expect(refs.md5).toBe(createHash('md5').update(raw.stdoutBytes!).digest('hex'));
    expect(refs.bytes).toBe(raw.stdoutBytes!.length);
    expect(refs.crossCheck?.disagreements).toEqual([]);
    expect(refs.crossCheck?.agreed).toBe(true);
    expect(refs.crossCheck?.decoder).toMatch(/native vp9/);
    const info = await inspectFile(file);
    expect(refs.frames.map((f) => `${f.width}x${f.height}`)).toEqual(info.output.map((o) => `${o.width}x${o.height}`));
    for (const f of refs.frames) {
      expect(f.i420.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(f.i420.xxh64).toMatch(/^[0-9a-f]{16}$/);
      if (recipe.source.chroma === '420') expect(f.nv12?.sha256).toMatch(/^[0-9a-f]{64}$/);
      else expect(f.nv12).toBeNull();
    }
  });

  it('inspector agrees with ffmpeg -bsf:v trace_headers on every parsed element of every frame', async () => {
    const file = path(name);
    const info = await inspectFile(file, { trace: true });
    const ff = await ffmpegTraceHeaders(runner, file);
    expect(ff.frames.length).toBe(info.frames.length);
    let compared = 0;
    const mismatches = [];
    for (const f of info.frames) {
      const c = compareFrameTrace(f.index, f.trace!, ff.frames[f.index]!.elements);
      compared += c.compared;
      mismatches.push(...c.mismatches);
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(info.frames.length * 5);
    // superframe indexes: same count and the same frame sizes
    expect(ff.superframeIndexes.length).toBe(info.superframes.length);
    info.superframes.forEach((s, i) => {
      const sizes = ff.superframeIndexes[i]!.filter((e) => e.name.startsWith('frame_sizes')).map((e) => e.value);
      expect(sizes).toEqual(s.index.frameSizes);
    });
  });

  it('header writer reproduces every uncompressed header byte for byte', () => {
    const buf = new Uint8Array(readFileSync(path(name)));
    for (const f of inspectBuffer(buf, name).frames) {
      const orig = buf.subarray(f.offset, f.offset + Math.max(1, f.header.uncompressedHeaderSize));
      expect(Buffer.from(writeUncompressedHeader(f.header)).equals(Buffer.from(orig)), `frame ${f.index}`).toBe(true);
    }
  });
});

describe('derived and damaged vectors', () => {
  it('the intra-only vector decodes exactly like the vpxenc stream it was derived from', async () => {
    const r = recipes.vectors.find((v) => v.name === 'p0-intra-only')!;
    const dir = mkdtempSync(join(tmpdir(), 'wb-io-'));
    await writeY4m(r.source, join(dir, 'src.y4m'));
    await runner.run(vpxencArgv(r, join(dir, 'src.y4m'), join(dir, 'base.ivf')));
    const md5 = async (f: string) =>
      createHash('md5')
        .update((await runner.run(['vpxdec', '--i420', f, '-o', '-'], { binaryStdout: true })).stdoutBytes!)
        .digest('hex');
    expect(await md5(path('p0-intra-only'))).toBe(await md5(join(dir, 'base.ivf')));
    const info = await inspectFile(path('p0-intra-only'));
    expect(info.frames.some((f) => f.header.intraOnly && !f.header.showFrame)).toBe(true);
  });

  it('a truncated IVF gives a clear error naming the frame and its offset (CLI)', async () => {
    const file = path('p0-q-min');
    const info = await inspectFile(file);
    const last = info.frames[info.frames.length - 1]!;
    const cut = join(mkdtempSync(join(tmpdir(), 'wb-cut-')), 'cut.ivf');
    writeFileSync(cut, readFileSync(file).subarray(0, last.offset + 3));
    const r = await runner.run(['node', join(projectRoot(), 'harness/bin/workbench.js'), 'vectors', 'inspect', cut], { allowFailure: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `error[E_IVF_TRUNCATED]: cut.ivf: truncated IVF: frame ${last.packetIndex} at offset ${last.offset - 12} declares ${readFileSync(file).readUInt32LE(last.offset - 12)} bytes of payload (from offset ${last.offset}), only 3 remain`,
    );
  });

  it('a truncated WebM is refused, naming where the incomplete element starts', async () => {
    const full = readFileSync(path('p0-altref-backward-adapt'));
    const cut = join(mkdtempSync(join(tmpdir(), 'wb-cutw-')), 'cut.webm');
    writeFileSync(cut, full.subarray(0, full.length >> 1));
    await expect(inspectFile(cut)).rejects.toThrow(/cut\.webm: truncated WebM: the element at offset \d+ is incomplete/);
    expect((await inspectFile(path('p0-altref-backward-adapt'))).container).toBe('webm');
  });

  it('a corrupted vector file is detected by its checksum; the intact one is stored and gives the same references', async () => {
    const file = path('p0-odd-tiny');
    const good = readFileSync(file);
    const sum = createHash('md5').update(good).digest('hex');
    const mirror = mkdtempSync(join(tmpdir(), 'wb-mirror-'));
    const bad = Buffer.from(good);
    const mid = bad.length >> 1;
    bad[mid] = bad[mid]! ^ 0x01;
    writeFileSync(join(mirror, 'p0-odd-tiny.ivf'), bad);
    const src = { name: 'p0-odd-tiny.ivf', url: 'https://example.invalid/p0-odd-tiny.ivf', md5: sum, inputFile: 'p0-odd-tiny.ivf' };
    await expect(storeVector(src, { mirror, cacheRoot: cache })).rejects.toThrow(/checksum mismatch/);
    copyFileSync(file, join(mirror, 'p0-odd-tiny.ivf'));
    const stored = await storeVector(src, { mirror, cacheRoot: cache });
    const a = await ensureReferences(stored.path, { runner: new ExecaRunner(), cacheRoot: cache });
    const b = await ensureReferences(file, { runner: new ExecaRunner(), cacheRoot: cache });
    expect(a.md5).toBe(b.md5);
  });

  it('`vectors fetch` reports every missing Fluster vector as not available (exit 2)', async () => {
    const mirror = mkdtempSync(join(tmpdir(), 'wb-empty-'));
    const r = await runner.run(['node', join(projectRoot(), 'harness/bin/workbench.js'), 'vectors', 'fetch', 'VP9-TEST-VECTORS-HIGH', '--mirror', mirror], {
      allowFailure: true,
      env: { WORKBENCH_CACHE_DIR: cache },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stdout.match(/^not-available\s+vp9\d-2-20-\d+bit-yuv4\d\d\.webm/gm)).toHaveLength(6);
    expect(r.stdout).toContain('VP9-TEST-VECTORS-HIGH: 0 fetched, 0 cached, 6 not available');
  });
});
