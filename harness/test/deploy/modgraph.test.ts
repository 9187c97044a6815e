import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnloadError, parseSnapshot, planSwap, swapModules, type ModSnapshot } from '../../src/deploy/modgraph.ts';
import { fakeKernel } from './fakeKernel.ts';

/**
 * The module graph: plans computed from module states recorded on the real
 * vboard (modstate.sh output, fixtures/), then run by the real modswap.sh
 * on a fake /sys/module whose rmmod/modprobe stubs follow the kernel's
 * rules (fakeKernel.ts). The oracle is the kernel's rule, not our plan: an
 * rmmod of a module that is still referenced fails, as on the board.
 */
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
/** Recorded on the vboard right after a real `workbench iterate` (modstate.sh rockchip_vdec v4l2_mem2mem v4l2_h264 v4l2_vp9 visl). */
const AFTER_ITERATE = fixture('vboard-after-iterate.modstate');
/** The build's module order, as `workbench build --for vboard` prints it. */
const BUILD_ORDER = ['rockchip_vdec', 'v4l2_mem2mem', 'v4l2_h264', 'v4l2_vp9'];

/** Every module of `order` comes after each loaded module that held it in `snap`. */
function holdersFirst(snap: ModSnapshot, order: string[]): void {
  for (const [i, n] of order.entries()) {
    for (const h of snap.loaded.get(n)?.holders ?? []) {
      if (order.includes(h)) expect(order.indexOf(h), `${h} (holder of ${n}) before ${n}`).toBeLessThan(i);
    }
  }
}

describe('the recorded vboard state', () => {
  it('is the state of the reported failure: rockchip_vdec holds the helpers, visl and rockchip_vdec hold v4l2_mem2mem', () => {
    const s = parseSnapshot(AFTER_ITERATE);
    expect(s.loaded.get('v4l2_vp9')?.holders).toContain('rockchip_vdec');
    expect(s.loaded.get('v4l2_h264')?.holders).toContain('rockchip_vdec');
    expect(s.loaded.get('v4l2_mem2mem')?.holders).toEqual(expect.arrayContaining(['rockchip_vdec']));
  });
});

// Each case runs modswap.sh (a few hundred sh/fake rmmod processes): 0.8-5 s on an idle host, measured
// 17-20 s at load 20-29 on the 2-core build machine, where the default 20 s timed out; 60 s is three times that.
describe('planSwap + modswap.sh on the recorded state', { timeout: 60_000 }, () => {
  it('deploy of the four modules in build order after iterate: every rmmod succeeds (holders first), all end loaded', async () => {
    const k = fakeKernel(AFTER_ITERATE);
    const before = k.snapshot();
    const r = await swapModules(k.target, { replace: BUILD_ORDER, load: BUILD_ORDER.map((name) => ({ name })), force: true });
    holdersFirst(before, r.plan.unload);
    expect(r.unloaded).toEqual(r.plan.unload);
    // the four and visl (it holds v4l2_mem2mem), nothing else
    expect([...r.unloaded].sort()).toEqual([...BUILD_ORDER, 'visl'].sort());
    for (const n of BUILD_ORDER) expect(k.loaded()).toContain(n);
    // what held something before holds it again (visl is loaded again after v4l2_mem2mem)
    const after = k.snapshot();
    for (const m of before.loaded.values()) expect(after.loaded.get(m.name)?.holders.sort(), m.name).toEqual([...m.holders].sort());
    // and every load came after its dependencies: modprobe never had to pull one in
    const probes = k.calls().filter((c) => c.startsWith('modprobe'));
    expect(probes.map((c) => c.split(' ')[1])).toEqual([...r.loaded, ...r.reloaded]);
  });

  it('the old order (each module, then its holders, reversed) fails on this state like the report said', async () => {
    const k = fakeKernel(AFTER_ITERATE);
    // the previous reload script's order for the build order
    const snap = k.snapshot();
    const order: string[] = [];
    for (const n of BUILD_ORDER) {
      const q = [n];
      while (q.length) {
        const x = q.shift()!;
        if (!snap.loaded.has(x)) continue;
        if (!order.includes(x)) order.push(x);
        q.push(...snap.loaded.get(x)!.holders);
      }
    }
    const res = await k.target.exec(
      [
        'sh',
        '-c',
        order
          .reverse()
          .map((m) => `rmmod ${m} || exit 1`)
          .join('\n'),
      ],
      { allowFailure: true },
    );
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/rmmod: ERROR: Module v4l2_\w+ is in use by: .*rockchip_vdec/);
  });

  it('restore from the state a later deploy left: modules the backup never knew (rockchip_vdec...) are unloaded first and loaded again after', async () => {
    const k = fakeKernel(AFTER_ITERATE);
    const before = k.snapshot();
    // a backup of a deploy that replaced v4l2_mem2mem while visl held it
    const r = await swapModules(k.target, {
      replace: ['v4l2_mem2mem'],
      load: [{ name: 'v4l2_mem2mem' }, ...(before.loaded.has('visl') ? [{ name: 'visl' }] : [])],
    });
    holdersFirst(before, r.plan.unload);
    expect(r.plan.unload.at(-1)).toBe('v4l2_mem2mem');
    expect(r.plan.unload).toContain('rockchip_vdec');
    expect(r.reloaded).toEqual(expect.arrayContaining(['rockchip_vdec']));
    expect(k.loaded()).toEqual([...before.loaded.keys()].sort());
  });

  it('restore from a partly unloaded set (interrupted between rmmods): unloads the rest holders first, loads all in dependency order', async () => {
    const k = fakeKernel(AFTER_ITERATE);
    await k.target.exec(['sh', '-c', 'rmmod rockchip_vdec && rmmod v4l2_vp9']);
    const mid = k.snapshot();
    const r = await swapModules(k.target, { replace: BUILD_ORDER, load: BUILD_ORDER.map((name) => ({ name })) });
    holdersFirst(mid, r.plan.unload);
    expect(r.unloaded).not.toContain('rockchip_vdec');
    expect(r.loaded.indexOf('v4l2_vp9')).toBeLessThan(r.loaded.indexOf('rockchip_vdec'));
    expect(r.loaded.indexOf('v4l2_mem2mem')).toBeLessThan(r.loaded.indexOf('rockchip_vdec'));
    for (const n of BUILD_ORDER) expect(k.loaded()).toContain(n);
    expect(k.loaded()).toContain('visl');
  });

  it('a restore that must end with a module unloaded (its file removed) unloads it and its holders', async () => {
    const k = fakeKernel(AFTER_ITERATE);
    const r = await swapModules(k.target, { replace: ['rockchip_vdec', 'v4l2_vp9'], load: [] });
    expect(r.unloaded).toEqual(['rockchip_vdec', 'v4l2_vp9']);
    expect(k.loaded()).not.toContain('rockchip_vdec');
    expect(k.loaded()).not.toContain('v4l2_vp9');
    expect(k.loaded()).toContain('v4l2_h264');
  });

  it('a process holding the device: UnloadError names the module, the process (PID, command, device) and the holders; nothing else was unloaded after it', async () => {
    const k = fakeKernel(AFTER_ITERATE);
    const victim = k.snapshot().loaded.has('visl') ? 'visl' : 'rockchip_vdec';
    k.openDevice(4711, 'gst-launch-1.0', '/dev/video0', victim);
    const err = await swapModules(k.target, { replace: BUILD_ORDER, load: BUILD_ORDER.map((name) => ({ name })), force: true }).catch((e) => e);
    expect(err).toBeInstanceOf(UnloadError);
    expect(err.code).toBe('E_MODULE_UNLOAD');
    expect(err.module).toBe(victim);
    expect(err.message).toContain(`module ${victim} could not be unloaded: rmmod: ERROR: Module ${victim} is in use`);
    expect(err.message).toContain(`gst-launch-1.0 (PID 4711) holds /dev/video0 (${victim})`);
    expect(err.hint).toContain('kill 4711');
  });

  it('planSwap: the vboard reports no srcversion for these modules, so a restore reloads them; with equal srcversions a module is left as it is unless forced', () => {
    const s = parseSnapshot(AFTER_ITERATE);
    expect(s.loaded.get('v4l2_vp9')?.srcversion).toBeUndefined();
    const p = planSwap(s, { replace: ['v4l2_vp9'], load: [{ name: 'v4l2_vp9' }] });
    expect(p.unload).toEqual(['rockchip_vdec', 'v4l2_vp9']);
    expect(p.load.map((l) => l.name)).toEqual(['v4l2_vp9']);
    expect(p.reload).toEqual(['rockchip_vdec']);
    // same code loaded as on disk (srcversion of /sys/module and of the file agree)
    s.loaded.get('v4l2_vp9')!.srcversion = 'ABC';
    s.files.set('v4l2_vp9', { path: '/x/v4l2-vp9.ko', srcversion: 'ABC', depends: [] });
    expect(planSwap(s, { replace: ['v4l2_vp9'], load: [{ name: 'v4l2_vp9' }] })).toMatchObject({ unload: [], current: ['v4l2_vp9'] });
    expect(planSwap(s, { replace: ['v4l2_vp9'], load: [{ name: 'v4l2_vp9' }], force: true }).unload).toEqual(['rockchip_vdec', 'v4l2_vp9']);
    // but a module that must end unloaded is unloaded even when it runs its file's code
    expect(planSwap(s, { replace: ['v4l2_vp9'], load: [] }).unload).toEqual(['rockchip_vdec', 'v4l2_vp9']);
  });
});
