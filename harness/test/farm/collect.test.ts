import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bundle } from '../../src/farm/bundle.ts';
import { frame, reference, sha, testBundle } from './lavaFixtures.ts';
import { collectJob, compareFrameHashes } from '../../src/farm/collect.ts';
import { jobHealth, lavaCases, parseDutLines, parseLavaLog, targetLines, type LavaLogEntry } from '../../src/farm/results.ts';
import { RunRecordSchema } from '../../src/model/record.ts';

/**
 * collect with stand-in LAVA logs (the shape lava-dispatcher 2026.10 writes:
 * one JSON flow mapping per line) and references built from known frame
 * bytes; expected hashes come from node's crypto over the same bytes.
 */
const bundle = (names: string[], mode: 'pixels' | 'visl' = 'pixels') => testBundle(names, { mode });

let t = 0;
const entry = (lvl: string, msg: unknown): string => `- ${JSON.stringify({ dt: new Date(Date.UTC(2026, 11, 1, 0, 0, t++)).toISOString(), lvl, msg })}`;
const target = (text: string) => entry('target', text);
const result = (definition: string, c: string, r: string, extra: Record<string, unknown> = {}) =>
  entry('results', { definition, case: c, result: r, ...extra });
const decoded = (c: string, frames: Buffer[], rc = 0) => [
  target(`WB-DECODE ${c} rc=${rc} bytes=${frames.reduce((a, b) => a + b.length, 0)} md5=${createHash('md5').update(Buffer.concat(frames)).digest('hex')}`),
  ...frames.map((b, i) => target(`WB-FRAME ${c} ${i} ${b.length} ${sha(b)}`)),
];
const header = [
  entry('info', 'lava-dispatcher, installed at version: 2026.10'),
  target('WB-MODULES installed /lib/modules/7.2.13+deb14-amd64/updates/visl.ko '),
  result('0_vp9wb', 'modules-install', 'pass'),
  target('WB-ELEMENT v4l2slvp9dec /dev/media0 /dev/video0 visl'),
  result('0_vp9wb', 'decoder-probe', 'pass'),
];

async function collect(b: Bundle, lines: string[], refs: Record<string, Buffer[]>) {
  const root = mkdtempSync(join(tmpdir(), 'wb-collect-'));
  const log = parseLavaLog(lines.join('\n') + '\n');
  return collectJob({
    bundle: b,
    bundleDir: '/nonexistent',
    log,
    source: { jobId: 7, via: 'test', commands: [] },
    references: new Map(Object.entries(refs).map(([n, f]) => [`${n}.ivf`, reference(`${n}.ivf`, f)])),
    command: 'workbench lava collect',
    reportsRoot: root,
  });
}

describe('LAVA log parsing', () => {
  it('reads lava-dispatcher lines, skips a line cut by a killed job, finds the job health', () => {
    const text = [entry('info', 'x'), result('lava', 'job', 'fail', { error_type: 'Infrastructure', error_msg: 'boom' }), '- {"dt": "2026-12-01T00:0'].join(
      '\n',
    );
    const log = parseLavaLog(text);
    expect(log).toHaveLength(2);
    expect(jobHealth(log)).toEqual({ health: 'Incomplete', errorType: 'Infrastructure', errorMsg: 'boom' });
    expect(jobHealth(parseLavaLog(result('lava', 'job', 'pass')))).toEqual({ health: 'Complete' });
    expect(jobHealth(parseLavaLog(result('lava', 'job', 'fail', { error_type: 'Canceled' }))).health).toBe('Canceled');
    expect(jobHealth([]).health).toBe('Incomplete');
    expect(jobHealth(parseLavaLog(result('lava', 'job', 'pass')), 'Incomplete').health).toBe('Incomplete');
  });

  it('a real lava-run log (lava-dispatcher 2026.10, ssh job on the vboard): results with YAML tags, test set, measurements, health, DUT lines', () => {
    const log = parseLavaLog(readFileSync(join(import.meta.dirname, 'fixtures', 'lava-run-vboard-visl.logs.yaml'), 'utf8'));
    const cases = lavaCases(log).filter((c) => c.definition === '0_vp9wb');
    expect(cases.map((c) => [c.case, c.result, c.set ?? '', c.measurement ?? -1])).toEqual([
      ['modules-install', 'pass', '', -1],
      ['decoder-probe', 'pass', '', -1],
      ['p0-keyframe-only-ivf', 'pass', 'vp9-features-gstreamer-v4l2sl', -1],
      ['p0-resize-inter-ivf', 'fail', 'vp9-features-gstreamer-v4l2sl', 30],
      ['p0-odd-tiny-ivf', 'pass', 'vp9-features-gstreamer-v4l2sl', -1],
      ['p2-10bit-ivf', 'fail', 'vp9-features-gstreamer-v4l2sl', 12],
    ]);
    expect(jobHealth(log).health).toBe('Complete');
    const facts = parseDutLines(targetLines(log));
    expect(facts.element).toEqual({ element: 'v4l2slvp9dec', media: '/dev/media0', video: '/dev/video0', driver: 'visl' });
    expect(facts.modules).toBe('installed');
    expect(facts.restored).toBe(true);
    expect([...facts.vectors.keys()]).toEqual(['p0-keyframe-only-ivf', 'p0-resize-inter-ivf', 'p0-odd-tiny-ivf', 'p2-10bit-ivf']);
    const kf = facts.vectors.get('p0-keyframe-only-ivf')!;
    expect(kf.frames).toHaveLength(12);
    expect(kf.frames.every((f) => f.bytes === (352 * 288 * 3) / 2)).toBe(true);
    expect(kf.bytes).toBe(12 * 152064);
  });

  it('DUT lines are found inside LAVA target lines (prompt or prefix before them)', () => {
    const f = parseDutLines([{ dt: 'x', text: 'root@vboard:~# WB-ELEMENT e /dev/media1 /dev/video2 rkvdec' }]);
    expect(f.element).toEqual({ element: 'e', media: '/dev/media1', video: '/dev/video2', driver: 'rkvdec' });
  });
});

describe('per-frame comparison', () => {
  it('hash, geometry, missing and extra frames, trailing bytes', () => {
    const ref = reference('a.ivf', [frame(1), frame(2), frame(3)]);
    const dut = (frames: Buffer[]) =>
      parseDutLines(decoded('a-ivf', frames).map((l) => ({ dt: 'x', text: (JSON.parse(l.slice(2)) as LavaLogEntry).msg as string }))).vectors.get('a-ivf')!;
    const ok = compareFrameHashes(dut([frame(1), frame(2), frame(3)]), ref, 'pixels');
    expect(ok.compare.mismatchingFrames).toBe(0);
    expect(ok.compare.firstBadFrame).toBeUndefined();
    const bad = compareFrameHashes(dut([frame(1), frame(9), frame(3)]), ref, 'pixels');
    expect(bad.compare.firstBadFrame).toBe(1);
    expect(bad.compare.perFrame[1]).toMatchObject({ problem: 'hash', produced: sha(frame(9)), expected: sha(frame(2)) });
    const short = compareFrameHashes(dut([frame(1), frame(2), Buffer.alloc(5, 3)]), ref, 'pixels');
    expect(short.trailingBytes).toBe(5);
    expect(short.compare.missingFrames).toBe(1);
    expect(short.compare.firstBadFrame).toBe(2);
    const extra = compareFrameHashes(dut([frame(1), frame(2), frame(3), frame(4)]), ref, 'pixels');
    expect(extra.compare.extraFrames).toBe(1);
    const visl = compareFrameHashes(dut([frame(7), frame(7), frame(7)]), ref, 'visl');
    expect(visl.compare.mismatchingFrames).toBe(0);
    expect(visl.compare.pixelsCompared).toBe(false);
  });
});

describe('collectJob', () => {
  it('Complete job, every vector matches: exit 0, four reports, a valid run record', async () => {
    const c = await collect(
      bundle(['a', 'b']),
      [
        ...header,
        ...decoded('a-ivf', [frame(1), frame(2)]),
        result('0_vp9wb', 'a-ivf', 'pass'),
        ...decoded('b-ivf', [frame(3), frame(4)]),
        result('lava', 'job', 'pass'),
      ],
      {
        a: [frame(1), frame(2)],
        b: [frame(3), frame(4)],
      },
    );
    expect(c.exitCode).toBe(0);
    expect(c.record.vectors.map((v) => v.verdict.result)).toEqual(['pass', 'pass']);
    expect(RunRecordSchema.safeParse(c.record).success).toBe(true);
    for (const f of ['run.json', 'junit.xml', 'summary.md', 'index.html']) expect(existsSync(join(c.reportDir, f))).toBe(true);
    expect(c.record.deploy?.replaced).toEqual(['/lib/modules/7.2.13+deb14-amd64/updates/visl.ko']);
  });

  it("the record's board kind is the bundle's (its provider's), whatever the board's name", async () => {
    const lines = [...header, ...decoded('a-ivf', [frame(1), frame(2)]), result('lava', 'job', 'pass')];
    const vboardNamedElse = await collect(testBundle(['a'], { board: 'qemu1', recordKind: 'vboard' }), lines, { a: [frame(1), frame(2)] });
    expect(vboardNamedElse.record.board?.kind).toBe('vboard');
    const boardNamedVboard = await collect(testBundle(['a'], { board: 'vboard', recordKind: 'board' }), lines, { a: [frame(1), frame(2)] });
    expect(boardNamedVboard.record.board?.kind).toBe('board');
  });

  it("a wrong frame fails its vector with the first bad frame (exit 1), whatever LAVA's own case said", async () => {
    const c = await collect(
      bundle(['a']),
      [...header, ...decoded('a-ivf', [frame(1), frame(9)]), result('0_vp9wb', 'a-ivf', 'pass'), result('lava', 'job', 'pass')],
      { a: [frame(1), frame(2)] },
    );
    expect(c.exitCode).toBe(1);
    const v = c.record.vectors[0]!.verdict;
    expect(v.result).toBe('fail');
    expect(v.result === 'fail' && v.firstBadFrame).toBe(1);
  });

  it('a job that died mid-suite: the vectors never reported are fail, the run is incomplete, exit 2', async () => {
    const c = await collect(
      bundle(['a', 'b', 'c']),
      [...header, ...decoded('a-ivf', [frame(1), frame(2)]), result('lava', 'job', 'fail', { error_type: 'Infrastructure', error_msg: 'Connection closed' })],
      {
        a: [frame(1), frame(2)],
        b: [frame(1), frame(2)],
        c: [frame(1), frame(2)],
      },
    );
    expect(c.exitCode).toBe(2);
    expect(c.health).toBe('Incomplete');
    expect(c.record.status).toBe('incomplete');
    expect(c.record.vectors.map((v) => v.verdict.result)).toEqual(['pass', 'fail', 'fail']);
    expect(c.record.vectors[1]!.verdict.message).toContain('never reported b-ivf');
    expect(c.record.counts.fail).toBe(2);
  });

  it('a failed infrastructure case (modules-install) makes the run exit 2 even when the job is Complete', async () => {
    const c = await collect(bundle(['a']), [entry('info', 'x'), result('0_vp9wb', 'modules-install', 'fail'), result('lava', 'job', 'pass')], {
      a: [frame(1), frame(2)],
    });
    expect(c.exitCode).toBe(2);
    expect(c.record.stages[0]!.error?.code).toBe('E_LAVA_INFRA');
  });

  it('a refused stream is not-supported with the driver reason (decode/gstFailure rules)', async () => {
    const lines = [
      ...header,
      ...decoded('a-ivf', [], 1),
      target(
        'WB-GST a-ivf 0:00:04.0 1336 1340 ERROR v4l2codecs-decoder gstv4l2decoder.c:395:gst_v4l2_decoder_set_sink_fmt:<v4l2decoder1> VIDIOC_S_FMT failed: Device or resource busy',
      ),
      target('WB-GST a-ivf ERROR: from element /GstPipeline:pipeline0/v4l2slvp9dec:v4l2slvp9dec0: Failed to configure VP9 decoder'),
      result('lava', 'job', 'pass'),
    ];
    const c = await collect(bundle(['a'], 'visl'), lines, { a: [frame(1), frame(2)] });
    expect(c.record.vectors[0]!.verdict.result).toBe('not-supported');
    expect(c.exitCode).toBe(0);
  });
});
