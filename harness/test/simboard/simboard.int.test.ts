import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot, projectRoot } from '../../src/core/paths.ts';
import { workbenchCli } from '../cli/workbenchCli.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { ensureSimboardProbeImage, runSimboardProbe } from '../../src/simboard/probe.ts';
import { ensureSimboardQemu } from '../../src/simboard/qemuBuild.ts';
import { simboardConnection, simboardDown, simboardPaths, simboardStatus, simboardTarget, simboardUp } from '../../src/simboard/simboard.ts';
import { toolboxExec } from '../../src/toolbox/toolbox.ts';

/**
 * The simboard for real: QEMU built from Debian's source with our vdpu381
 * device model, the arm64 Debian guest, Debian's own rockchip-vdec.ko.
 *
 * Gated by WORKBENCH_SIMBOARD_INT=1 (like WORKBENCH_KUNIT_INT): from an empty
 * cache the QEMU build (1809 ninja steps) and the arm64 image (mmdebstrap
 * --variant=extract, 27 min at load ~10) do not fit CI's time on 2 cores; a
 * warm cache boots to SSH in about 30 s. Needs root (chroot, mmdebstrap). Run:
 *   WORKBENCH_SIMBOARD_INT=1 npx vitest run harness/test/simboard/simboard.int.test.ts
 */
const log = (s: string) => process.stderr.write(`[simboard-int] ${s}\n`);
const run = promisify(execFile);

const cli = (args: string[]) => workbenchCli(args, 1_800_000);

describe.skipIf(process.env.WORKBENCH_SIMBOARD_INT !== '1')('simboard (real QEMU + vdpu381-sim; WORKBENCH_SIMBOARD_INT=1)', () => {
  const saved = { state: process.env.WORKBENCH_STATE_DIR, config: process.env.WORKBENCH_CONFIG_DIR };
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wb-simboard-int-'));
    process.env.WORKBENCH_STATE_DIR = join(dir, 'state');
    process.env.WORKBENCH_CONFIG_DIR = join(dir, 'config');
  });

  afterAll(async () => {
    await simboardDown().catch(() => undefined);
    process.env.WORKBENCH_STATE_DIR = saved.state;
    process.env.WORKBENCH_CONFIG_DIR = saved.config;
    if (!saved.state) delete process.env.WORKBENCH_STATE_DIR;
    if (!saved.config) delete process.env.WORKBENCH_CONFIG_DIR;
    rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
  });

  it('QEMU: cached on an unchanged tree; its virt DT has the node rkvdec probes (compatible, link/function/cache, one SPI, axi clock)', async () => {
    const a = await ensureSimboardQemu({ runner: new ExecaRunner(), log });
    const b = await ensureSimboardQemu({ runner: new ExecaRunner(), log });
    expect(b.hit).toBe(true);
    expect(b.key).toBe(a.key);
    const runner = new ExecaRunner();
    const out = join(dir, 'dt');
    const binds = [
      { host: b.dir, inside: b.dir, readOnly: true },
      { host: dir, inside: out },
    ];
    await toolboxExec(
      runner,
      b.root,
      [b.binary, '-M', `virt,gic-version=3,dumpdtb=${out}/virt.dtb`, '-cpu', 'max', '-nodefaults', '-display', 'none', '-device', 'vdpu381-sim'],
      { binds },
    );
    const dts = (await toolboxExec(runner, b.root, ['dtc', '-q', '-I', 'dtb', '-O', 'dts', `${out}/virt.dtb`], { binds })).stdout;
    const node = /video-codec@[0-9a-f]+ \{[^}]*\}/.exec(dts)?.[0] ?? '';
    // What rkvdec's probe needs (drivers/media/platform/rockchip/rkvdec/rkvdec.c, Linux 7.2.13).
    expect(node).toContain('compatible = "rockchip,rk3588-vdec"');
    // dtc prints a string list as "a", "b" (older dtc: "a\0b").
    expect(node).toMatch(/reg-names = "link(\\0|", ")function(\\0|", ")cache"/);
    expect(node).toMatch(/clock-names = "axi(\\0|")/);
    expect(node).toMatch(/interrupts = <0x00 0x[0-9a-f]+ 0x04>/);
    expect(node).toMatch(/reg = <0x00 0x100 0x100 0x500 0x600 0x100>|reg = <0x[0-9a-f]+ 0x100 0x[0-9a-f]+ 0x500 0x[0-9a-f]+ 0x100>/);
  });

  it("probe: the device model traps DEC_E, sets STA_INT after its delay, writes one capture record; Debian's rockchip-vdec binds to it", async () => {
    const q = await ensureSimboardQemu({ runner: new ExecaRunner(), log });
    const img = await ensureSimboardProbeImage(q, { runner: new ExecaRunner(), log });
    const { result, wallMs, capture } = await runSimboardProbe(q, img, dir, { runner: new ExecaRunner(), irqDelayUs: 1000 });
    log(`probe: ${(wallMs / 1000).toFixed(1)} s wall, guest uptime ${result.uptimeS} s at the end`);
    expect(result.node).toMatch(/platform-bus@c000000\/video-codec@/);
    // STA_INT bits (MPP vdpu34x_com.h reg224): 0 irq, 1 irq_raw, 2 dec_rdy; the guest then wrote 0.
    expect(result.staAfterDecE).toBe(0b111);
    expect(result.staAfterAck).toBe(0);
    const records = readFileSync(capture, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({ format: 1, job: 1, end: 'ack', status_set: 7, irq_delay_us: 1000 });
    expect((r.t_irq_ns as number) - (r.t_start_ns as number)).toBeGreaterThanOrEqual(1_000_000);
    // function block snapshot at DEC_E: word 0x028/4 = 10 holds the DEC_E write.
    expect((r.function as string).slice(10 * 8, 11 * 8)).toBe('00000001');
    expect((r.function as string).length).toBe(0x500 * 2);
    expect(r.accesses).toEqual([
      ['w', 'function', 0x028, 1, expect.any(Number)],
      ['r', 'function', 0x380, 7, expect.any(Number)],
      ['w', 'function', 0x380, 0, expect.any(Number)],
    ]);
    expect(result.insmodFailed).toEqual([]);
    expect(result.bound).toEqual([expect.stringMatching(/video-codec/)]);
    expect(result.video.filter((v) => v.driver === 'rkvdec')).toHaveLength(1);
    expect(result.media.length).toBeGreaterThan(0);
  });

  it("boots, answers SSH with the recorded host key, and Debian's rockchip-vdec binds to the simulated vdpu381 (coldplug by modalias)", async () => {
    expect((await simboardStatus()).state).toBe('stopped');
    const up = await simboardUp({ runner: new ExecaRunner(), log });
    expect(up.state).toBe('running');
    log(`boot to SSH: ${((up.bootMs ?? 0) / 1000).toFixed(1)} s`);
    const t = await simboardTarget();
    try {
      expect(await t.kernelRelease()).toBe('7.2.13+deb14-arm64');
      const guestKey = (await t.exec(['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])).stdout.trim().split(/\s+/).slice(0, 2).join(' ');
      const recorded = readFileSync(simboardConnection().knownHostsFile, 'utf8')
        .split('\n')
        .filter((l) => l.split(/\s+/)[0] === 'simboard')
        .map((l) => l.split(/\s+/).slice(1, 3).join(' '));
      expect(recorded).toEqual([guestKey]);
      // Bound by simboardUp's coldplug (no udev in the guest), not loaded here.
      expect((await t.exec(['sh', '-c', 'ls /sys/bus/platform/drivers/rkvdec/ | grep video-codec'])).stdout.trim()).toMatch(/video-codec/);
      expect((await t.exec(['sh', '-c', 'readlink -f /sys/module/rockchip_vdec/drivers/platform:rkvdec/*video-codec*/driver/module'])).stdout.trim()).toMatch(
        /rockchip_vdec$/,
      );
      const video = (
        await t.exec(['sh', '-c', 'for d in /sys/class/video4linux/video*; do case "$(readlink -f $d/device/driver)" in */rkvdec) basename $d;; esac; done'])
      ).stdout.trim();
      expect(video).toMatch(/^video\d+$/);
      expect((await t.exec(['sh', '-c', 'ls /dev/media*'])).stdout).toMatch(/\/dev\/media\d+/);
      // The GStreamer plugins the decode uses (unpacked by gstPlugins.sh from plugins-bad/-good). v4l2codecs
      // registers an element per codec the device offers: Debian's module has no VP9 on RK3588, so
      // v4l2slvp9dec appears only with the series (next test) and only H.264/HEVC here.
      const inspect = (await t.exec(['gst-inspect-1.0', 'v4l2codecs'], { timeoutMs: 300_000 })).stdout;
      expect(inspect).toMatch(/v4l2slh264dec/);
      expect(inspect).not.toMatch(/v4l2slvp9dec/);
      for (const plugin of ['ivfparse', 'videoparsersbad', 'debugutilsbad', 'matroska', 'y4menc']) {
        expect((await t.exec(['gst-inspect-1.0', plugin], { timeoutMs: 300_000 })).exitCode, plugin).toBe(0);
      }
    } finally {
      await t.close();
    }
  });

  it("the series' arm64 rockchip-vdec deploys and binds; a VP9 vector decodes through it: one capture record per decode-order frame, every job dec_rdy and acknowledged", async () => {
    const dep = await cli(['deploy', '--board', 'simboard', '--json']);
    expect(dep.code, dep.stderr).toBe(0);
    expect(dep.stderr + dep.stdout).toMatch(/rockchip_vdec live, bound to c000000\.video-codec/);
    const t = await simboardTarget();
    try {
      // The module bound is the deployed one (updates/), not Debian's (kernel/.../rockchip-vdec.ko.xz).
      expect((await t.exec(['sh', '-c', 'modinfo -n rockchip-vdec'])).stdout.trim()).toMatch(/\/updates\/rockchip-vdec\.ko$/);
    } finally {
      await t.close();
    }
    const capture = simboardPaths().capture;
    const before = existsSync(capture) ? readFileSync(capture, 'utf8').split('\n').filter(Boolean).length : 0;
    const dec = await cli(['decode', '--board', 'simboard', '--vectors', 'p0-odd-tiny', '--json']);
    const rec = JSON.parse(dec.stdout.trim().split('\n').at(-1)!) as { verdict: { checks: { check: string; status: string }[] }; framesProduced?: number };
    const jobs = readFileSync(capture, 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(before)
      .map((l) => JSON.parse(l) as { end: string; status_set: number });
    // Independent count of decode-order frames: ffmpeg's vp9_superframe_split bitstream filter (one packet per frame, hidden ones included).
    const vector = (await run('sh', ['-c', `ls ${JSON.stringify(cacheRoot())}/generated-vectors/*/p0-odd-tiny.ivf | head -n1`])).stdout.trim();
    const split = await run('ffmpeg', ['-v', 'error', '-i', vector, '-c', 'copy', '-bsf:v', 'vp9_superframe_split', '-f', 'framecrc', '-']);
    const frames = split.stdout.split('\n').filter((l) => l && !l.startsWith('#')).length;
    expect(frames).toBeGreaterThan(0);
    expect(jobs).toHaveLength(frames);
    // STA_INT as set by the model (MPP vdpu34x_com.h reg224: bit 0 irq, 1 irq_raw, 2 dec_rdy), closed by the driver's write of 0.
    expect(new Set(jobs.map((j) => j.status_set))).toEqual(new Set([0b111]));
    expect(new Set(jobs.map((j) => j.end))).toEqual(new Set(['ack']));
    expect(rec.verdict.checks.find((c) => c.check === 'frame-count')?.status).toBe('pass');
    expect(rec.verdict.checks.find((c) => c.check === 'pixels')?.status).toBe('not-run');
    expect(['pass', 'fail']).toContain(rec.verdict.checks.find((c) => c.check === 'registers')?.status);
  });

  it('a module whose probe fails: the verdict is "driver did not bind" with the kernel log, the previous module is restored and bound', async () => {
    if ((await simboardStatus()).state !== 'running') await simboardUp({ runner: new ExecaRunner(), log });
    // The fixture asks for a "links" region the node does not have (harness/test/simboard/fixtures/series-no-bind).
    const series = join(projectRoot(), 'harness/test/simboard/fixtures/series-no-bind');
    const res = await cli(['iterate', '--board', 'simboard', '--series', series, '--vectors', 'p0-odd-tiny', '--no-check', '--json']);
    const out = res.stdout + res.stderr;
    expect(res.code, out).toBe(2);
    expect(out).toMatch(
      /E_NOT_BOUND: simboard: deploy \S+: driver did not bind: rockchip_vdec is loaded but c000000\.video-codec \(matching its aliases\) is not bound to it/,
    );
    // The kernel's own reasons: lib/devres.c __devm_ioremap_resource() ("invalid resource"), drivers/base/dd.c ("probe with driver rkvdec failed with error -22").
    expect(out).toMatch(/kernel log since the deploy: .*invalid resource/);
    expect(out).toMatch(/probe with driver rkvdec failed with error -22/);
    expect(out).toMatch(/rolled back: the previous modules are installed and loaded again/);
    const t = await simboardTarget();
    try {
      const bound = await t.exec(['sh', '-c', 'ls /sys/bus/platform/drivers/rkvdec/']);
      expect(bound.stdout).toContain('c000000.video-codec');
    } finally {
      await t.close();
    }
  });

  it("full bytes on mismatch: a buffer whose contents differ from MPP's is kept in the report with the bytes the device read", async () => {
    if ((await simboardStatus()).state !== 'running') await simboardUp({ runner: new ExecaRunner(), log });
    // The series + a one-byte probability-layout mutant (the KUnit fixture): reg160's table differs from MPP's from frame 1 on.
    const work = mkdtempSync(join(dir, 'bytes-'));
    const lines = readFileSync(join(projectRoot(), 'patches/simboard/series'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => join(projectRoot(), 'patches/simboard', l.trim()));
    lines.push(join(projectRoot(), 'harness/test/kernel/fixtures/broken-delta-probs.patch'));
    writeFileSync(join(work, 'series'), lines.join('\n') + '\n');
    const res = await cli(['iterate', '--board', 'simboard', '--series', work, '--vectors', 'p0-odd-tiny', '--no-check', '--json']);
    expect(res.code, res.stderr).toBe(1);
    const report = (res.stdout + res.stderr).match(/"reportDir":"([^"]+)"/)?.[1];
    expect(report).toBeTruthy();
    const art = join(report!, 'artifacts', 'p0-odd-tiny');
    const rep = JSON.parse(readFileSync(join(art, 'registers-diff.json'), 'utf8')) as {
      differences: { frame: number; reg: number; kind: string; seriesSha256?: string; mppValue: string }[];
    };
    const content = rep.differences.filter((d) => d.kind === 'content');
    expect(content.length).toBeGreaterThan(0);
    const kept = readdirSync(join(art, 'registers-bytes'));
    expect(kept.length).toBe(Math.min(16, content.length));
    const d = content[0]!;
    const bytes = readFileSync(
      join(
        art,
        'registers-bytes',
        kept.find((k) => k.startsWith(`frame${d.frame}-reg160-`))!,
      ),
    );
    // MPP allocates 4864 bytes per probability table (hal_vp9d_com.h PROB_SIZE); the bytes are what the device hashed.
    expect(bytes.length).toBe(4864);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(d.seriesSha256);
    expect(d.mppValue).not.toContain(d.seriesSha256!.slice(0, 16));
    // Put the series back for whoever uses the board next.
    const back = await cli(['deploy', '--board', 'simboard']);
    expect(back.code, back.stderr).toBe(0);
  });

  it('the registers check catches a deliberately broken build (fixture: intra_only_flag never set) at the first frame that uses the field, naming it', async () => {
    // Same vector, the series as is vs the series + the fixture patch: the only new differences must be the broken field.
    if ((await simboardStatus()).state !== 'running') await simboardUp({ runner: new ExecaRunner(), log });
    const work = mkdtempSync(join(dir, 'broken-'));
    const series = join(work, 'series');
    const fixture = join(projectRoot(), 'harness/test/registers/fixtures/broken-intra-only-flag.patch');
    const patches = readdirSync(join(projectRoot(), 'patches')).filter((f) => /^000[1-9].*\.patch$/.test(f));
    mkdirSync(series);
    for (const f of patches) copyFileSync(join(projectRoot(), 'patches', f), join(series, f));
    copyFileSync(fixture, join(series, 'broken.patch'));
    writeFileSync(join(series, 'series'), [...patches, 'broken.patch'].join('\n') + '\n');
    const diffOf = async (modules: string | undefined, tag: string) => {
      const dep = await cli(['deploy', '--board', 'simboard', ...(modules ? ['--modules', modules] : [])]);
      expect(dep.code, dep.stderr).toBe(0);
      const art = join(work, tag);
      const dec = await cli(['decode', '--board', 'simboard', '--vectors', 'p0-intra-only', '--artifacts', art, '--json']);
      expect(dec.stdout, dec.stderr).toContain('"registers"');
      const rep = JSON.parse(readFileSync(join(art, 'p0-intra-only', 'registers-diff.json'), 'utf8')) as {
        differences: { frame: number; field: string; mppValue: unknown; seriesValue: unknown }[];
      };
      return rep.differences.map((d) => `${d.frame} ${d.field} ${JSON.stringify(d.mppValue)} ${JSON.stringify(d.seriesValue)}`);
    };
    const good = await diffOf(undefined, 'good');
    const b = await cli(['build', '--for', 'arm64', '--series', series, '--json']);
    expect(b.code, b.stderr).toBe(0);
    const ko = (JSON.parse(b.stdout) as { modules: { name: string; path: string }[] }).modules.find((m) => m.name === 'rockchip-vdec')!.path;
    mkdirSync(join(work, 'ko'));
    copyFileSync(ko, join(work, 'ko', 'rockchip-vdec.ko')); // the next build reuses the build folder
    const broken = await diffOf(join(work, 'ko', 'rockchip-vdec.ko'), 'broken');
    const added = broken.filter((d) => !good.includes(d));
    expect(added.length).toBeGreaterThan(0);
    expect(new Set(added.map((d) => d.split(' ')[1]))).toEqual(new Set(['vp9d_param.reg103.intra_only_flag']));
    // Frame 0 is a key frame: MPP sets the flag for it, so the first frame is where the broken field shows.
    expect(Number(added[0]!.split(' ')[0])).toBe(0);
    // Put the series back for whoever uses the board next.
    const back = await cli(['deploy', '--board', 'simboard']);
    expect(back.code, back.stderr).toBe(0);
  });
});
