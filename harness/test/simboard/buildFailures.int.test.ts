import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRY_MARKER } from '../../src/core/cache.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { cacheRoot, projectRoot } from '../../src/core/paths.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { ensureSimboardImage } from '../../src/simboard/image.ts';
import { ensureSimboardQemu, hashTree } from '../../src/simboard/qemuBuild.ts';

/**
 * A simboard build step that fails names the step and leaves the cache
 * clean (issue #13, "Bad input and faults"): no entry for the failed inputs,
 * no temporary directory; what was cached before stays a cache hit. (There
 * is no DTB step to fail: QEMU writes the decoder node itself.)
 */
const log = (s: string) => process.stderr.write(`[build-failures] ${s}\n`);
const runner = new ExecaRunner();

/** Entries (and temporary directories) of a cache kind. */
const entriesOf = (root: string, kind: string) => (existsSync(join(root, kind)) ? readdirSync(join(root, kind)) : []);

describe.skipIf(process.getuid?.() !== 0)('simboard image: a failing rootfs step (root; no network beyond 127.0.0.1)', () => {
  it('an unreachable mirror fails the rootfs step by name; the cache holds no entry and no temporary directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-simboard-fail-'));
    const saved = process.env.WORKBENCH_DEBIAN_MIRROR;
    // Port 9 (discard) on the loopback: nothing listens, apt's download fails at once.
    process.env.WORKBENCH_DEBIAN_MIRROR = 'http://127.0.0.1:9/debian';
    try {
      const err = await ensureSimboardImage({ runner, log, cacheRoot: root }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isWorkbenchError(err, 'E_SIMBOARD_IMAGE'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/mmdebstrap failed \(exit \d+\) building the simboard rootfs/);
      expect(entriesOf(root, 'simboard-image').filter((n) => !n.endsWith('.lock'))).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.WORKBENCH_DEBIAN_MIRROR;
      else process.env.WORKBENCH_DEBIAN_MIRROR = saved;
      rmSync(root, { recursive: true, force: true }); // our own mkdtemp directory
    }
  });
});

describe.skipIf(process.env.WORKBENCH_SIMBOARD_INT !== '1')('simboard QEMU: a failing build step (real build tree; WORKBENCH_SIMBOARD_INT=1)', () => {
  it('a device source that does not compile fails step "build" with the compiler error; no entry for it, and the good tree is still cached', async () => {
    const good = await ensureSimboardQemu({ runner, log });
    const dev = mkdtempSync(join(tmpdir(), 'wb-simboard-broken-'));
    try {
      cpSync(join(projectRoot(), 'harness/simboard-qemu'), dev, { recursive: true });
      appendFileSync(join(dev, 'hw/misc/vdpu381_sim.c'), '\nstatic int wb_broken_on_purpose(void) { return undeclared_identifier; }\n');
      const broken = await hashTree(join(dev, 'hw'));
      const err = await ensureSimboardQemu({ runner, log, deviceDir: dev }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isWorkbenchError(err, 'E_SIMBOARD_QEMU_BUILD'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/step "build": ninja failed/);
      // The compiler's own diagnostic (gcc: "'undeclared_identifier' undeclared").
      expect((err as Error).message).toMatch(/undeclared_identifier/);
      const kind = join(cacheRoot(), 'simboard-qemu');
      const names = entriesOf(cacheRoot(), 'simboard-qemu');
      expect(names.filter((n) => n.startsWith('.tmp-') && n.includes(`-${process.pid}-`))).toEqual([]);
      for (const n of names.filter((x) => !x.startsWith('.') && !x.endsWith('.lock'))) {
        const marker = join(kind, n, ENTRY_MARKER);
        if (!existsSync(marker)) continue;
        const inputs = (JSON.parse(readFileSync(marker, 'utf8')) as { inputs?: { device?: unknown } }).inputs;
        expect(inputs?.device, `entry ${n} was built from the broken source`).not.toEqual(broken);
      }
      const again = await ensureSimboardQemu({ runner, log });
      expect(again.hit).toBe(true);
      expect(again.key).toBe(good.key);
    } finally {
      rmSync(dev, { recursive: true, force: true }); // our own mkdtemp directory
    }
  });
});
