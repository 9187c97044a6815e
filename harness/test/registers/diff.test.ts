import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAllowList, parseAllowList } from '../../src/registers/allowList.ts';
import { parseCapture } from '../../src/registers/capture.ts';
import { captureJob, diffRegisters, mppJob } from '../../src/registers/diff.ts';
import { FrameRecordSchema, type FrameRecord } from '../../src/registers/records.ts';
import type { RegField } from '../../src/registers/regFields.ts';
import { registersOf, synthesizeCapture } from './captureLine.ts';

// Real MPP records (fixtures/mpp-p0-intra-only/README.md): the expected
// values below come from them and from MPP's header, never from diff.ts.
const dir = join(import.meta.dirname, 'fixtures', 'mpp-p0-intra-only');
const records: FrameRecord[] = readFileSync(join(dir, 'records.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => FrameRecordSchema.parse(JSON.parse(l)));
const fields = JSON.parse(readFileSync(join(dir, 'fields.json'), 'utf8')) as RegField[];

const seriesOf = (text: string) => parseCapture(text, 'synth.jsonl').map(captureJob);
const withHeaders = (recs: readonly FrameRecord[]) => recs.map((r) => r.frame);

describe('the register differential on real MPP records', () => {
  it('finds no difference between a record and itself, and counts what it compared', () => {
    const rep = diffRegisters(
      fields,
      records,
      records.map((r, i) => mppJob(r, `self ${i}`)),
    );
    expect(rep.differences).toEqual([]);
    expect(rep.frames).toBe(16);
    expect(rep.fieldsCompared).toBeGreaterThan(16 * 300);
    expect(rep.addressesCompared).toBeGreaterThan(16 * 20);
    expect(rep.contentsCompared).toBeGreaterThan(0);
    expect(rep.perFrame.map((f) => f.frame)).toEqual(withHeaders(records));
  });

  it('finds no difference in a capture of the same programming at other addresses (roles, not IOVAs)', () => {
    const rep = diffRegisters(fields, records, seriesOf(synthesizeCapture(records)));
    expect(rep.differences).toEqual([]);
    expect(rep.notes.join('\n')).toMatch(/buffer contents not compared: one side holds no hash/);
  });

  it('compares the delta-probability table by the hashes both sides took of its 4864 bytes: equal, then one frame different', () => {
    const k = 2;
    const sha = (n: number) => n.toString(16).padStart(64, '0');
    // MPP's shim hashes the table from reg160's offset (region hash); the model hashes the same bytes at DEC_E
    const mpp = records.map((r, i) => ({ ...r, addresses: r.addresses.map((a) => (a.reg === 160 ? { ...a, len: 4864, sha256: sha(i + 1) } : a)) }));
    const withHashes = (wrong: number | null) =>
      synthesizeCapture(records)
        .split('\n')
        .map((line, i) => {
          const j = JSON.parse(line) as Record<string, unknown>;
          const addr = parseInt((j.function as string).slice(160 * 8, 161 * 8), 16);
          j.buffers = { delta_prob: { reg: 160, addr, len: 4864, sha256: sha(i === wrong ? 999 : i + 1) } };
          return JSON.stringify(j);
        })
        .join('\n');
    const same = diffRegisters(fields, mpp, seriesOf(withHashes(null)));
    expect(same.differences).toEqual([]);
    const base = diffRegisters(fields, records, seriesOf(synthesizeCapture(records)));
    expect(same.contentsCompared).toBe(base.contentsCompared + records.length); // reg160 on every frame
    const bad = diffRegisters(fields, mpp, seriesOf(withHashes(k)));
    expect(bad.differences).toEqual([
      expect.objectContaining({
        frame: records[k]!.frame,
        reg: 160,
        kind: 'content',
        mppValue: `sha256 ${sha(k + 1).slice(0, 16)}`,
        seriesValue: `sha256 ${sha(999).slice(0, 16)}`,
      }),
    ]);
  });

  it('names exactly the one field whose bits were changed: reg103 bit 29 (allow_high_precision_mv in MPP vdpu34x_vp9d.h SWREG103_VP9_PROB_EN)', () => {
    const target = records.find((r) => r.frameType === 'inter' && !r.intraOnly && r.showFrame && r.frame > 1)!;
    const before = registersOf(target).get(103)!;
    const rep = diffRegisters(
      fields,
      records,
      seriesOf(
        synthesizeCapture(records, (frame, regs) => {
          if (frame === target.frame) regs.set(103, (regs.get(103)! ^ (1 << 29)) >>> 0);
        }),
      ),
    );
    expect(rep.differences).toEqual([
      expect.objectContaining({
        frame: target.frame,
        reg: 103,
        field: 'vp9d_param.reg103.allow_high_precision_mv',
        kind: 'value',
        mppValue: (before >>> 29) & 1,
        seriesValue: ((before >>> 29) & 1) ^ 1,
      }),
    ]);
    expect(rep.differences[0]!.notWritten).toBeUndefined();
  });

  it('compares references by the frame they hold: LAST and GOLDEN swapped are both named with their frames (from MPP output-buffer bookkeeping)', () => {
    const target = records.find((r) => r.refs && r.refs.last !== r.refs.golden)!;
    const rep = diffRegisters(
      fields,
      records,
      seriesOf(
        synthesizeCapture(records, (frame, regs) => {
          if (frame !== target.frame) return;
          const [l, g] = [regs.get(164)!, regs.get(165)!];
          regs.set(164, g);
          regs.set(165, l);
        }),
      ),
    );
    expect(rep.differences.map((d) => [d.frame, d.reg, d.role, d.mppValue, d.seriesValue])).toEqual([
      [target.frame, 164, 'ref-last', `output of frame ${target.refs!.last}`, `output of frame ${target.refs!.golden}`],
      [target.frame, 165, 'ref-golden', `output of frame ${target.refs!.golden}`, `output of frame ${target.refs!.last}`],
    ]);
    expect(rep.differences[0]!.field).toBe('vp9d_addr.reg164_ref_last_base');
  });

  it('flags a register the series did not write for a job: the value left from the previous job is compared and marked', () => {
    const k = records.findIndex((r, i) => i > 0 && registersOf(r).get(65) !== registersOf(records[i - 1]!).get(65));
    const target = records[k]!;
    const rep = diffRegisters(
      fields,
      records,
      seriesOf(
        synthesizeCapture(records, (frame, regs) => {
          if (frame === target.frame) regs.delete(65);
        }),
      ),
    );
    expect(rep.differences).toEqual([
      expect.objectContaining({
        frame: target.frame,
        field: 'vp9d_param.reg65.cur_poc',
        mppValue: registersOf(target).get(65),
        seriesValue: registersOf(records[k - 1]!).get(65),
        notWritten: true,
      }),
    ]);
  });

  it('moves a difference an allow-list entry covers to `allowed` and reports an entry that matched nothing', () => {
    const target = records.find((r) => r.frameType === 'inter' && !r.intraOnly && r.frame > 1)!;
    const allow = parseAllowList(
      `[[allow]]
field = "vp9d_param.reg103.allow_*"
frames = "inter"
reason = "test entry: the series derives this bit elsewhere"
source = "https://example.org/spec#7.2"

[[allow]]
field = "common.reg012.*"
reason = "test entry that matches nothing"
source = "https://example.org/x"
`,
      'allow.toml',
    );
    const rep = diffRegisters(
      fields,
      records,
      seriesOf(
        synthesizeCapture(records, (frame, regs) => {
          if (frame === target.frame) regs.set(103, (regs.get(103)! ^ (1 << 29)) >>> 0);
        }),
      ),
      allow,
    );
    expect(rep.differences).toEqual([]);
    expect(rep.allowed).toEqual([expect.objectContaining({ frame: target.frame, field: 'vp9d_param.reg103.allow_high_precision_mv', allowed: 0 })]);
    expect(rep.unusedAllow.map((e) => e.field)).toEqual(['common.reg012.*']);
    expect(() => parseAllowList('[[allow]]\nfield = "x"\nreason = "long enough reason"\nsource = "not a url"\n', 'a.toml')).toThrow(/a\.toml.*source/);
  });

  it('notes a different number of jobs and compares the common ones', () => {
    const rep = diffRegisters(fields, records, seriesOf(synthesizeCapture(records.slice(0, 10))));
    expect(rep).toMatchObject({ frames: 10, mppJobs: 16, seriesJobs: 10, differences: [] });
    expect(rep.notes[0]).toMatch(/MPP submitted 16 jobs, the series 10/);
  });

  it("the repository's allow-list parses, every entry with a reason and a public source", () => {
    const l = loadAllowList();
    expect(l.file).toMatch(/harness\/src\/registers\/allow-list\.toml$/);
    for (const e of l.entries) expect(e.source).toMatch(/^https?:\/\//);
  });

  it('compares probability contexts and segment maps by the frame that wrote them', () => {
    // frame 13 reads the default probabilities in MPP (context reset); the series made to read a written-back context instead
    const rep = diffRegisters(
      fields,
      records,
      seriesOf(
        synthesizeCapture(records, (frame, regs) => {
          if (frame === 13) regs.set(162, regs.get(172)!);
        }),
      ),
    );
    const rec13 = records.find((r) => r.frame === 13)!;
    const wb = rec13.addresses.find((a) => a.reg === 172)!.buffer;
    const writer = records.filter((r) => r.frame < 13 && r.addresses.some((a) => a.reg === 172 && a.buffer === wb)).at(-1)!;
    expect(rep.differences.map((d) => [d.frame, d.reg, d.role, d.seriesValue])).toEqual([
      [13, 162, 'last-probabilities', `probability-write-back of frame ${writer.frame}`],
    ]);
  });
});
