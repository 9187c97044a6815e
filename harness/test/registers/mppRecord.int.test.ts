import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';
import { ensureMppRig, type MppRig } from '../../src/registers/mppBuild.ts';
import { ensureMppFields } from '../../src/registers/mppFields.ts';
import { decodedFrames, recordMpp } from '../../src/registers/mppRecord.ts';
import { FrameRecordSchema, registerMap } from '../../src/registers/records.ts';
import { decodeRegisters, type RegField } from '../../src/registers/regFields.ts';
import { headerReferences } from '../../src/registers/roles.ts';
import { generateSuite } from '../../src/vectors/generate/generate.ts';
import { ensureReferences } from '../../src/vectors/references.ts';
import { inspectFile } from '../../src/vectors/inspect.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

// Real MPP (pinned source, built in its chroot) driving the LD_PRELOAD
// device stand-in on vp9-features vectors. Expected values come from our
// inspector (tested against ffmpeg trace_headers), libvpx (vpxdec output
// frame count) and GCC's own layout of MPP's structs.

let rig: MppRig;
let fields: RegField[];
const vectors: Record<string, string> = {};
const log = (m: string) => process.stderr.write(`[mpp] ${m}\n`);

beforeAll(async () => {
  const gen = await generateSuite({ runner: new ExecaRunner(), only: ['p0-resize-inter', 'p0-multilayer-arf'], log });
  for (const v of gen.vectors) vectors[v.name] = v.path;
  rig = await ensureMppRig({ runner: new ExecaRunner(), log });
  fields = (await ensureMppFields({ source: rig.source })).fields;
});

function field(rec: Parameters<typeof registerMap>[0], name: string): number {
  const hit = decodeRegisters(fields, registerMap(rec)).find((f) => f.name === name);
  if (!hit) throw new Error(`no field ${name} in the record`);
  return hit.value;
}

describe('MPP register records (real MPP + device stand-in)', () => {
  it('p0-resize-inter: one record per decoded frame; reference sizes (reg106..111) equal the headers; the stream buffer holds the frame', async () => {
    const path = vectors['p0-resize-inter']!;
    const info = await inspectFile(path);
    const refs = await ensureReferences(path, { runner: new ExecaRunner() });
    const out = join(mkdtempSync(join(tmpdir(), 'wb-mpprec-')), 'rec');
    const res = await recordMpp(path, { runner: new ExecaRunner(), rig, out, dumpBuffers: true, log });

    expect(res.records).toHaveLength(decodedFrames(info).length);
    expect(res.summary.mppOutputFrames).toBe(refs.frames.length);
    const lines = readFileSync(join(out, 'records.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(res.records.length);
    for (const l of lines) FrameRecordSchema.parse(JSON.parse(l));

    const bytes = readFileSync(path);
    let interChecked = 0;
    let scaled = 0;
    for (const rec of res.records) {
      const f = info.frames[rec.frame]!;
      expect([rec.width, rec.height]).toEqual([f.header.width, f.header.height]);
      if (f.header.frameType === 'inter' && !f.header.intraOnly) {
        const [last, golden, altref] = f.header.refSizes!;
        expect([field(rec, 'vp9d_param.reg106.framewidth_last'), field(rec, 'vp9d_param.reg107.frameheight_last')], `frame ${rec.frame} LAST`).toEqual([
          last!.width,
          last!.height,
        ]);
        expect([field(rec, 'vp9d_param.reg108.framewidth_golden'), field(rec, 'vp9d_param.reg109.frameheight_golden')], `frame ${rec.frame} GOLDEN`).toEqual([
          golden!.width,
          golden!.height,
        ]);
        expect([field(rec, 'vp9d_param.reg110.framewidth_alfter'), field(rec, 'vp9d_param.reg111.frameheight_alfter')], `frame ${rec.frame} ALTREF`).toEqual([
          altref!.width,
          altref!.height,
        ]);
        interChecked++;
        if (f.header.refScaling) scaled++;
      }
      // reg128 (rlc_base) points at the stream buffer: it must hold this frame's bytes at its offset.
      const a = rec.addresses.find((x) => x.reg === 128)!;
      expect(a.buffer).not.toBeNull();
      const buf = rec.buffers.find((b) => b.id === a.buffer)!;
      const data = readFileSync(join(out, 'buffers', `${buf.sha256}.bin`));
      const frame = bytes.subarray(f.offset, f.offset + f.size);
      expect(Buffer.compare(data.subarray(a.offset!, a.offset! + f.size), frame), `frame ${rec.frame} stream bytes`).toBe(0);
      expect(rec.status & 4).toBe(4);
    }
    expect(interChecked).toBeGreaterThan(10);
    expect(scaled).toBeGreaterThan(0);
    expectReferencesFromHeaders(res.records, info);

    // The CLI names the fields as MPP does and resolves the reference roles.
    const scaledRec = res.records.find((r) => info.frames[r.frame]!.header.refScaling)!;
    const show = await execa('node', [join(projectRoot(), 'harness/bin/workbench.js'), 'registers', 'mpp-show', out, '--frame', String(scaledRec.frame)], {
      reject: false,
    });
    expect(show.exitCode, show.stderr).toBe(0);
    const alt = info.frames[scaledRec.frame]!.header.refSizes![2]!;
    expect(show.stdout).toContain(`vp9d_param.reg110.framewidth_alfter = ${alt.width}`);
    expect(show.stdout).toMatch(new RegExp(`reg166 ref-altref -> buffer \\d+ \\+ 0 = frame ${scaledRec.refs!.altref}\\n`));
  });

  it('p0-multilayer-arf: hidden frames are decoded (one record each), show_existing_frame has none; MPP outputs what libvpx outputs', async () => {
    const path = vectors['p0-multilayer-arf']!;
    const info = await inspectFile(path);
    const refs = await ensureReferences(path, { runner: new ExecaRunner() });
    const res = await recordMpp(path, { runner: new ExecaRunner(), rig, out: join(mkdtempSync(join(tmpdir(), 'wb-mpprec-')), 'rec'), log });
    const hidden = info.frames.filter((f) => !f.header.showFrame && !f.header.showExistingFrame).length;
    const existing = info.frames.filter((f) => f.header.showExistingFrame).length;
    expect(hidden).toBeGreaterThan(0);
    expect(existing).toBeGreaterThan(0);
    expect(res.records).toHaveLength(info.frames.length - existing);
    expect(res.records.filter((r) => !r.showFrame)).toHaveLength(hidden);
    expect(res.summary.mppOutputFrames).toBe(refs.frames.length);
    expectReferencesFromHeaders(res.records, info);
  });

  it('a fault planted in the stand-in (error status for one job) fails the recording, naming job and frame; no output folder is left', async () => {
    const path = vectors['p0-resize-inter']!;
    const out = join(mkdtempSync(join(tmpdir(), 'wb-mpprec-')), 'rec');
    await expect(recordMpp(path, { runner: new ExecaRunner(), rig, out, plantFaultAtJob: 3, log })).rejects.toMatchObject({
      code: 'E_MPP_FRAME_ERROR',
      message: expect.stringMatching(
        /hardware job 3 \(decode-order frame 3, .*\) ended with status reg224=0x10 \(no dec_rdy_sta\) — a fault planted.*mpi_dec_test flagged [1-9]\d* output frame\(s\) as erroneous/,
      ),
    });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(out, '..'))).toEqual([]);
  });

  it("the field table generated from MPP's headers equals GCC's layout of Vdpu34xVp9dRegSet", async () => {
    const bases = new Map<string, number>();
    for (const f of fields) {
      const member = f.name.split('.')[0]!;
      bases.set(member, Math.min(bases.get(member) ?? Infinity, f.reg));
    }
    // Each named field set to all ones in a zeroed struct; GCC tells which word and bits it landed in.
    const c = [
      '#include <stdio.h>',
      '#include <stddef.h>',
      '#include <string.h>',
      '#include "vdpu34x_vp9d.h"',
      'static Vdpu34xVp9dRegSet s;',
      'static void show(const char *n, size_t base) { const RK_U32 *w = (const RK_U32 *)&s; for (size_t i = 0; i < sizeof(s) / 4; i++) if (w[i]) printf("%s %zu %u\\n", n, i - base / 4, w[i]); }',
      'int main(void) {',
      ...fields.map((f) => `  memset(&s, 0, sizeof(s)); s.${f.name} = ~0u; show("${f.name}", offsetof(Vdpu34xVp9dRegSet, ${f.name.split('.')[0]}));`),
      '  return 0;',
      '}',
    ].join('\n');
    const dir = mkdtempSync(join(rig.chroot.root, 'tmp', 'wb-layout-'));
    writeFileSync(join(dir, 'layout.c'), c);
    const inside = `/${relative(rig.chroot.root, dir)}`;
    const incs = (await findDirs(rig.source.dir, 'inc')).flatMap((d) => ['-I', `/mpp-src/${d}`]);
    const cc = await rig.chroot.exec(['gcc', '-w', ...incs, '-o', `${inside}/layout`, `${inside}/layout.c`], {
      binds: [{ host: rig.source.dir, inside: '/mpp-src', readOnly: true }],
      allowFailure: true,
    });
    expect(cc.stderr).toBe('');
    const run = await rig.chroot.exec([`${inside}/layout`]);
    const got = run.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(got).toHaveLength(fields.length);
    const want = fields.map((f) => [
      f.name,
      String(f.reg - bases.get(f.name.split('.')[0]!)!),
      String((f.width === 32 ? 0xffffffff : ((1 << f.width) - 1) << f.lsb) >>> 0),
    ]);
    expect(got).toEqual(want);
    expect(fields.length).toBeGreaterThan(400);
  });
});

/** MPP's LAST/GOLDEN/ALTREF registers point at the output buffers of the frames the headers' slot bookkeeping names. */
function expectReferencesFromHeaders(records: { frame: number; refs: unknown }[], info: Awaited<ReturnType<typeof inspectFile>>): void {
  const want = headerReferences(info);
  const inter = records.filter((r) => r.refs !== null);
  expect(inter.length).toBe(want.size);
  for (const r of inter) expect(r.refs, `frame ${r.frame}`).toEqual(want.get(r.frame));
  // Not all the same: the vectors use references other than the previous frame.
  expect(inter.some((r) => JSON.stringify(Object.values(r.refs as object)) !== JSON.stringify([r.frame - 1, r.frame - 1, r.frame - 1]))).toBe(true);
}

async function findDirs(root: string, name: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.name === name) out.push(r);
    out.push(...(await findDirs(root, name, r)));
  }
  return out;
}
