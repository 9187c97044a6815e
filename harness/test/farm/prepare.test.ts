import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lavaUnchecked } from '../../src/farm/collect.ts';
import { bundleBoard, modeFor } from '../../src/farm/prepare.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';
import { fakeBoardKind } from '../target/providers/fakeBoardKind.ts';

/**
 * A bundle's board, mode and unchecked reasons come from the board profile
 * and the checks chosen for it, not from its name. Facts: visl
 * (drivers/media/test-drivers/visl) draws a test pattern instead of
 * decoding and raises no vdpu381 interrupt; a LAVA device type such as
 * rk3588-rock-5b is not a board of the registry and decodes with the
 * series' driver, rkvdec.
 */
const saved = process.env.WORKBENCH_CONFIG_DIR;
let providers: ReturnType<typeof builtinProviders>;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'wb-prepare-'));
  // a boards.toml board on a desk, running visl (the driver, not the name, decides)
  writeFileSync(join(dir, 'boards.toml'), '[board.desk1]\nhost = "192.0.2.10"\narch = "amd64"\ndriver = "visl"\n');
  process.env.WORKBENCH_CONFIG_DIR = dir;
  providers = builtinProviders().register(fakeBoardKind);
});

afterAll(() => {
  if (saved === undefined) delete process.env.WORKBENCH_CONFIG_DIR;
  else process.env.WORKBENCH_CONFIG_DIR = saved;
});

describe('bundleBoard', () => {
  it("takes the driver from the profile and the record kind from the board's provider", () => {
    expect(bundleBoard(providers, 'vboard')).toEqual({ name: 'vboard', driver: 'visl', recordKind: 'vboard' });
    expect(bundleBoard(providers, 'desk1')).toEqual({ name: 'desk1', driver: 'visl', recordKind: 'board' });
    expect(bundleBoard(providers, 'sim0')).toEqual({ name: 'sim0', driver: 'fakedrv', recordKind: 'board' });
  });

  it('a LAVA device type outside the registry decodes with rkvdec; --driver overrides either', () => {
    expect(bundleBoard(providers, 'rk3588-rock-5b')).toEqual({ name: 'rk3588-rock-5b', driver: 'rkvdec', recordKind: 'board' });
    expect(bundleBoard(providers, 'vboard', 'rkvdec').driver).toBe('rkvdec');
  });
});

describe('modeFor and lavaUnchecked', () => {
  it('a visl board: frames only; pixels and IRQ unchecked with the visl reasons, the visl traces not collected', () => {
    const b = bundleBoard(providers, 'desk1');
    expect(modeFor(b)).toBe('visl');
    const u = lavaUnchecked({ board: b.name, driver: b.driver, mode: modeFor(b) });
    expect(u.absent.pixels).toMatch(/test pattern/);
    expect(u.absent.controls).toBe('not collected in LAVA jobs');
    expect(u.absent.bitstream).toBe('not collected in LAVA jobs');
    expect(u.irq).toMatch(/visl.*no vdpu381 interrupt/);
  });

  it('a decoding board: pixels compared, the visl checks do not apply, IRQ not collected', () => {
    const b = bundleBoard(providers, 'rk3588-rock-5b');
    expect(modeFor(b)).toBe('pixels');
    const u = lavaUnchecked({ board: b.name, driver: b.driver, mode: 'pixels' });
    expect(u.absent.pixels).toBeUndefined();
    expect(u.absent.controls).toMatch(/visl/);
    expect(u.irq).toBe('IRQ instrumentation is not collected in LAVA jobs');
  });

  it('a decoding board run in visl mode (--mode visl): pixels are reported unchecked', () => {
    expect(lavaUnchecked({ board: 'rk3588-rock-5b', driver: 'rkvdec', mode: 'visl' }).absent.pixels).toMatch(/NOT verified/);
  });
});
