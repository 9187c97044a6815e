import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkBitstream, parseDumpListing } from '../../src/decode/visl/bitstreamCheck.ts';
import { checkControls } from '../../src/decode/visl/controlsCheck.ts';
import { parseFtrace } from '../../src/decode/visl/ftrace.ts';
import { parseVp9FrameEvent, vp9FrameEvents } from '../../src/decode/visl/vp9FrameTrace.ts';
import { expectedPayloads } from '../../src/decode/runVector.ts';
import { inspectFile } from '../../src/vectors/inspect.ts';

const FIX = join(import.meta.dirname, 'fixtures');
const TRACE = readFileSync(join(FIX, 'visl-aq-variance.trace'), 'utf8');
const IVF = join(FIX, 'p0-odd-cif-aq-variance.ivf');

describe('visl trace parser (real trace recorded on the vboard)', () => {
  it('splits the ftrace text into events and reads the buffer accounting', () => {
    const t = parseFtrace(TRACE);
    expect(t.events).toHaveLength(13);
    expect(t.entriesInBuffer).toBe(13);
    expect(t.entriesWritten).toBe(13);
    expect(t.events[0]).toMatchObject({ task: 'ivfparse0:sink', pid: 1332, cpu: 0, event: 'v4l2_ctrl_vp9_frame' });
  });

  it('parses every field of v4l2_ctrl_vp9_frame, signed values and the s16 feature data included', () => {
    const f = parseVp9FrameEvent(parseFtrace(TRACE).events[0]!);
    expect(f.lf).toEqual({ refDeltas: [1, 0, -1, -1], modeDeltas: [0, 0], level: 0, sharpness: 0, flags: ['DELTA_ENABLED', 'DELTA_UPDATE'] });
    expect(f.quant.baseQIdx).toBe(193);
    expect(f.seg.featureData[0]).toEqual([-51, 0, 0, 0]);
    expect(f.seg.featureData[4]).toEqual([16, 0, 0, 0]);
    expect(f.seg.featureEnabled).toEqual([1, 1, 1, 0, 1, 0, 0, 0]);
    expect(f.seg.treeProbs).toEqual([0xd2, 1, 255, 255, 0xd5, 255, 0x80]);
    expect(f.seg.flags).toEqual(['ENABLED', 'UPDATE_MAP', 'UPDATE_DATA']);
    expect(f.flags).toContain('KEY_FRAME');
    expect([f.frameWidthMinus1, f.frameHeightMinus1]).toEqual([352, 288]);
    expect(f.compressedHeaderSize).toBe(232);
    expect(f.uncompressedHeaderSize).toBe(32);
    expect(f.refFrameSignBias).toBe(0);
    expect(f.resetFrameContext).toBe(0);
    expect(f.interpolationFilter).toBe(0);
    expect(f.tileRowsLog2).toBe(0);
    expect(f.referenceMode).toBe(0);
  });

  it('names the field when the format changes', () => {
    const e = parseFtrace(TRACE.replace('lf.level 0', 'lf.level zero')).events[0]!;
    expect(() => parseVp9FrameEvent(e)).toThrow(/lf\.level/);
  });
});

describe('controls check', () => {
  it('passes: every traced control equals the inspector parse of the same frame', async () => {
    const info = await inspectFile(IVF);
    const r = checkControls(info.frames, vp9FrameEvents(parseFtrace(TRACE).events));
    expect(r.mismatches).toEqual([]);
    expect(r).toMatchObject({ framesExpected: 13, framesTraced: 13, framesCompared: 13, pass: true });
    expect(r.fieldsCompared).toBeGreaterThan(13 * 25);
  });

  it('fails on one changed field and names frame and field', async () => {
    const info = await inspectFile(IVF);
    // change base_q_idx of the second record only
    const i = TRACE.indexOf('quant.base_q_idx 224');
    const bad = TRACE.slice(0, i) + 'quant.base_q_idx 225' + TRACE.slice(i + 'quant.base_q_idx 224'.length);
    const r = checkControls(info.frames, vp9FrameEvents(parseFtrace(bad).events));
    expect(r.pass).toBe(false);
    expect(r.mismatches).toEqual([{ decodeIndex: 1, splitIndex: 1, field: 'quant.base_q_idx', expected: '224', got: '225' }]);
  });

  it('fails when the driver received fewer frames', async () => {
    const info = await inspectFile(IVF);
    const r = checkControls(info.frames, vp9FrameEvents(parseFtrace(TRACE).events).slice(0, 12));
    expect(r).toMatchObject({ pass: false, framesTraced: 12, framesExpected: 13, mismatches: [] });
  });
});

describe('bitstream check', () => {
  it('passes when every dump equals its frame and names the first bad one otherwise', async () => {
    const info = await inspectFile(IVF);
    const exp = await expectedPayloads(IVF, info);
    expect(exp).toHaveLength(13);
    const listing = exp.map((e, i) => `bitstream${i} ${e.bytes} ${e.sha256}`).join('\n');
    expect(checkBitstream(exp, parseDumpListing(listing)).pass).toBe(true);
    const tampered = listing.replace(`bitstream5 ${exp[5]!.bytes} ${exp[5]!.sha256}`, `bitstream5 ${exp[5]!.bytes} ${'0'.repeat(64)}`);
    const r = checkBitstream(exp, parseDumpListing(tampered + '\nbitstream13 10 ' + 'a'.repeat(64)));
    expect(r.pass).toBe(false);
    expect(r.mismatches).toEqual([{ decodeIndex: 5, splitIndex: exp[5]!.splitIndex, problem: 'content', expected: `sha256 ${exp[5]!.sha256}`, got: `sha256 ${'0'.repeat(64)}` }]);
    expect(r.extraDumps).toEqual([13]);
  });
});
