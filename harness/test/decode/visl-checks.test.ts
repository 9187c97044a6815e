import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkBitstream, parseDumpListing } from '../../src/decode/visl/bitstreamCheck.ts';
import { splitSections } from '../../src/decode/visl/session.ts';
import { checkControls } from '../../src/decode/visl/controlsCheck.ts';
import { parseFtrace } from '../../src/decode/visl/ftrace.ts';
import { parseVp9FrameEvent, vp9FrameEvents } from '../../src/decode/visl/vp9FrameTrace.ts';
import { expectedPayloads } from '../../src/decode/checks/visl.ts';
import { inspectFile } from '../../src/vectors/inspect.ts';
import { loadScript, runScript } from '../../src/target/scripts.ts';
import { LocalTarget } from '../target/localTarget.ts';

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
    expect(r.mismatches).toEqual([
      { decodeIndex: 5, splitIndex: exp[5]!.splitIndex, problem: 'content', expected: `sha256 ${exp[5]!.sha256}`, got: `sha256 ${'0'.repeat(64)}` },
    ]);
    expect(r.extraDumps).toEqual([13]);
  });

  it('reads the board listing of sizes and hashes (one wc, one sha256sum); a dump with only a size counts as missing', async () => {
    const info = await inspectFile(IVF);
    const exp = await expectedPayloads(IVF, info);
    const d = '/sys/kernel/debug/visl/bitstream';
    const sizes = exp.map((e, i) => `WB-SIZE bitstream${i} ${e.bytes}`);
    const shas = exp.map((e, i) => `WB-SHA bitstream${i} ${e.sha256}`);
    expect(checkBitstream(exp, parseDumpListing([...sizes, ...shas].join('\n'))).pass).toBe(true);
    const r = checkBitstream(exp, parseDumpListing([...sizes, ...shas.filter((l) => !l.startsWith('WB-SHA bitstream7 '))].join('\n')));
    expect(r.mismatches.map((m) => [m.decodeIndex, m.problem])).toEqual([[7, 'missing']]);
    expect(parseDumpListing(`${d}/bitstream0 12 junk\n`)).toEqual([]);
  });
});

describe('visl collect script output', () => {
  it('splits the sections by the nonce; section text that lacks a final newline or imitates a section line stays in its section', () => {
    const n = '0123456789abcdef';
    const out = [
      '',
      `WB-SECTION-${n} trace`,
      '# tracer: nop',
      'WB-SECTION-ffff dumps',
      'no newline at end',
      `WB-SECTION-${n} dumps`,
      'WB-SIZE bitstream0 5',
      '',
      `WB-SECTION-${n} end`,
      'LOCK-RELEASED',
      '',
    ].join('\n');
    const s = splitSections(out, n);
    expect([...s.keys()]).toEqual(['trace', 'dumps', 'end']);
    expect(s.get('trace')).toBe('# tracer: nop\nWB-SECTION-ffff dumps\nno newline at end');
    expect(s.get('dumps')).toBe('WB-SIZE bitstream0 5');
    expect(s.get('end')).toBe('LOCK-RELEASED');
  });
});

describe('vislCollect.sh (run on this machine against a stand-in tracefs and dump folder)', () => {
  it('prints the trace, disarms the visl_vp9_controls events, lists the dumps with their sizes and SHA-256, releases the lock', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wb-visl-collect-'));
    const T = join(d, 'tracing');
    // The group's enable file: writing 0 there disarms every event of the
    // group on a real tracefs (Documentation/trace/events.rst, "Via the
    // 'enable' toggle"), the frame event and the probability events alike.
    const ev = join(T, 'events', 'visl_vp9_controls');
    mkdirSync(join(ev, 'v4l2_ctrl_vp9_frame'), { recursive: true });
    writeFileSync(join(T, 'tracing_on'), '1\n');
    writeFileSync(join(ev, 'enable'), '1\n');
    writeFileSync(join(T, 'trace'), '# tracer: nop\nsome event\n');
    const B = join(d, 'bitstream');
    mkdirSync(B);
    const dumps = [Buffer.from('first dump'), Buffer.from('second')];
    dumps.forEach((b, i) => writeFileSync(join(B, `bitstream${i}`), b));
    const lock = join(d, 'lock');
    mkdirSync(lock);
    const script = loadScript(new URL('../../src/decode/visl/', import.meta.url), 'vislCollect.sh');
    const n = 'feedfacefeedface';
    const r = await runScript(new LocalTarget(), script, [T, B, n, '0', lock]);
    const s = splitSections(r.stdout, n);
    expect(s.get('trace')).toBe('# tracer: nop\nsome event');
    expect(readFileSync(join(T, 'tracing_on'), 'utf8').trim()).toBe('0');
    expect(readFileSync(join(ev, 'enable'), 'utf8').trim()).toBe('0');
    expect(readFileSync(join(T, 'trace'), 'utf8')).toBe('');
    expect(parseDumpListing(s.get('dumps')!)).toEqual(
      dumps.map((b, i) => ({ sequence: i, bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') })),
    );
    expect(s.has('dmesg')).toBe(false);
    expect(s.get('end')).toBe('LOCK-RELEASED');
    expect(existsSync(lock)).toBe(false);
    const none = await runScript(new LocalTarget(), script, [T, join(d, 'absent'), n, '0', '']);
    expect(splitSections(none.stdout, n).get('dumps')).toBe('NO-BITSTREAM-DIR');
  });
});
