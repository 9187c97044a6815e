/**
 * iterate on the real vboard with the real stages, exactly what
 * `workbench iterate --vectors ...` runs: the series in patches/ applied and
 * built (rockchip-vdec for the vboard's kernel), deployed with backup and
 * verify, generated vp9-features vectors with libvpx references, GStreamer
 * v4l2slvp9dec against visl with the controls/bitstream/frame-count checks,
 * and a real report.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, type WorkbenchEvent } from '../../src/core/events.ts';
import { which } from '../../src/core/hostTools.ts';
import { closeTargets } from '../../src/target/connect.ts';
import { realStages } from '../../src/pipeline/realStages.ts';
import { runIterate } from '../../src/pipeline/iterate.ts';
import { loadRun } from '../../src/report/store.ts';

const root = mkdtempSync(join(tmpdir(), 'wb-iterate-int-'));
afterAll(async () => {
  await closeTargets();
  rmSync(root, { recursive: true, force: true });
});

describe('iterate on the vboard (real stages)', () => {
  it('decodes three vp9-features vectors through visl and writes a complete report', async () => {
    const stages = realStages();
    const bus = new EventBus();
    const events: WorkbenchEvent[] = [];
    bus.on((e) => events.push(e));
    const res = await runIterate({
      stages,
      bus,
      command: 'iterate.int.test',
      reportsRoot: root,
      vectors: 'p0-keyframe-only,p0-odd-tiny,p0-lossless',
    });
    const failed = res.record.stages.filter((s) => s.status !== 'done');
    expect(failed).toEqual([]);
    const verdicts = res.record.vectors.map(
      (v) => `${v.name}: ${v.verdict.result}${v.verdict.result === 'pass' ? '' : ` (${v.verdict.message ?? ('reason' in v.verdict ? v.verdict.reason : '')})`}`,
    );
    expect(res.exitCode, verdicts.join('\n')).toBe(0);
    const r = loadRun(res.reportDir!);
    expect(r.status).toBe('complete');
    expect(r.board).toMatchObject({ name: 'vboard', kind: 'vboard', device: { driver: 'visl' }, pixelsDecoded: false });
    expect(r.board?.device.media).toMatch(/^\/dev\/media\d+$/);
    expect(r.decoder?.detail).toMatch(/^v4l2sl\w*vp9dec$/);
    expect(r.reference?.version).toMatch(/VP9 Decoder/);
    expect(r.kernel?.modules.map((m) => m.name)).toContain('rockchip-vdec');
    expect(r.kernel?.series.patches.length).toBeGreaterThan(0);
    expect(r.kernel?.baseCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(r.deploy?.replaced.some((f) => f.endsWith('rockchip-vdec.ko'))).toBe(true);
    expect(r.vectors.map((v) => v.name)).toEqual(['p0-keyframe-only', 'p0-odd-tiny', 'p0-lossless']);
    for (const v of r.vectors) {
      expect(['pass', 'not-supported']).toContain(v.verdict.result);
      expect(v.md5.expected).toMatch(/^[0-9a-f]{32}$/);
      expect(v.command).toContain('v4l2sl');
    }
    expect(r.checks.pixelsVerified).toBe(false);
    expect(r.checks.ran).toEqual(expect.arrayContaining(['controls', 'frame-count']));
    expect(r.irq.answer).toBe('unknown');
    // every stage that did something says how to redo it by hand
    for (const name of ['build', 'deploy', 'plan', 'decode']) expect(r.stages.find((s) => s.name === name)!.commands.length).toBeGreaterThan(0);
    expect(r.stages.find((s) => s.name === 'deploy')!.commands.some((c) => c.startsWith('scp '))).toBe(true);
    expect(r.stages.find((s) => s.name === 'build')!.commands.some((c) => c.startsWith('make '))).toBe(true);
    expect(events.filter((e) => e.type === 'vector')).toHaveLength(3);
    if (which('xmllint')) {
      execFileSync('xmllint', ['--noout', '--schema', join(import.meta.dirname, '../report/fixtures/junit-10.xsd'), join(res.reportDir!, 'junit.xml')], {
        stdio: 'pipe',
      });
    }
    expect(readFileSync(join(res.reportDir!, 'index.html'), 'utf8')).toContain('Pixels were NOT verified on visl');
  });
});
