import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/core/cache.ts';
import {
  LIBVPX_CONFIGURE_ARGS,
  MODEL_BUILD_PACKAGES,
  MODEL_CORE_DIR,
  libvpxInputs,
  libvpxTarget,
  loadLibvpxSourceLock,
  modelCoreInputs,
  modelRootInputs,
  sourceDirName,
} from '../../src/simboard/modelCore.ts';

describe('vdpu381 model core build inputs', () => {
  it('reads the committed libvpx source lock', async () => {
    const lock = await loadLibvpxSourceLock();
    expect(lock.package).toBe('libvpx');
    expect(lock.suite).toBe('sid');
    expect(lock.version).toMatch(/^\d+\.\d+\.\d+-\d+$/);
  });

  it('names the field a broken lock lacks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-model-lock-'));
    try {
      writeFileSync(join(dir, 'libvpx-source.lock'), JSON.stringify({ package: 'libvpx', suite: 'sid' }));
      await expect(loadLibvpxSourceLock(dir)).rejects.toThrow(/field "version"/);
    } finally {
      rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
    }
  });

  it('builds libvpx with SIMD on x86-64 (nasm in the model build chroot), portable C elsewhere', () => {
    expect(libvpxTarget('x64')).toBe('x86_64-linux-gcc');
    expect(libvpxTarget('arm64')).toBe('generic-gnu');
    expect(MODEL_BUILD_PACKAGES).toContain('nasm');
    expect(MODEL_BUILD_PACKAGES).toContain('gcc');
    expect(cacheKey(modelRootInputs('sid'))).not.toBe(cacheKey(modelRootInputs('trixie')));
  });

  it('knows the directory dpkg-source unpacks into', () => {
    expect(sourceDirName('libvpx', '1.17.0-1')).toBe('libvpx-1.17.0');
    expect(sourceDirName('libvpx', '1.17.0')).toBe('libvpx-1.17.0');
  });

  it('keys the libvpx build by the lock, the patches, the configure arguments and the chroot', () => {
    const lock = { package: 'libvpx', version: '1.17.0-1', suite: 'sid' };
    const k = cacheKey(libvpxInputs(lock, 'root1', { '0001.patch': 'a' }));
    expect(cacheKey(libvpxInputs(lock, 'root1', { '0001.patch': 'a' }))).toBe(k);
    expect(cacheKey(libvpxInputs(lock, 'root1', { '0001.patch': 'b' }))).not.toBe(k);
    expect(cacheKey(libvpxInputs({ ...lock, version: '1.17.0-2' }, 'root1', { '0001.patch': 'a' }))).not.toBe(k);
    expect(cacheKey(libvpxInputs(lock, 'root2', { '0001.patch': 'a' }))).not.toBe(k);
    expect(LIBVPX_CONFIGURE_ARGS).toContain('--enable-vp9-decoder');
    // profile 2 (10-bit, NV15) needs libvpx's high bit depth build, and it keys the build
    expect(LIBVPX_CONFIGURE_ARGS).toContain('--enable-vp9-highbitdepth');
    // the model's own sources key only the second step
    expect(cacheKey(modelCoreInputs('v', { 'src/model.c': '1' }))).not.toBe(cacheKey(modelCoreInputs('v', { 'src/model.c': '2' })));
  });
});

/** The host's C compiler, if any (the model core itself builds in its chroot). */
const hostCc = ['cc', 'gcc'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);

/** 16-bit little-endian samples. */
const le16 = (v: number[]) => Buffer.from(new Uint16Array(v).buffer);

/**
 * The model's NV15 rows (harness/simboard-model/src/nv15.c, built alone with
 * -DVDPU381_NV15_CLI by the host compiler) against the layout of the kernel
 * documentation: Documentation/userspace-api/media/v4l/pixfmt-yuv-planar.rst,
 * "Sample 4x4 NV15 Image", bytes start + 0 .. + 4:
 *   Y'00[7:0] | Y'01[5:0] Y'00[9:8] | Y'02[3:0] Y'01[9:6] | Y'03[1:0] Y'02[9:4] | Y'03[9:2]
 * and the chroma row start + 20 .. + 24 (Cb00, Cr00, Cb01, Cr01 in that order);
 * include/uapi/drm/drm_fourcc.h DRM_FORMAT_NV15: "[39:0] Y3:Y2:Y1:Y0 little
 * endian", "[39:0] Cr1:Cb1:Cr0:Cb0 little endian".
 */
describe.skipIf(!hostCc)('vdpu381 model: NV15 packing (kernel V4L2_PIX_FMT_NV15 layout; needs a host C compiler)', () => {
  let dir: string;
  let bin: string;
  const nv15 = (mode: string, n: number, input: Buffer) => execFileSync(bin, [mode, String(n)], { input });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wb-nv15-'));
    bin = join(dir, 'nv15');
    execFileSync(hostCc!, ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-DVDPU381_NV15_CLI', '-o', bin, join(MODEL_CORE_DIR(), 'src', 'nv15.c')]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // our own mkdtemp directory

  it("packs luma as the documentation's table says, first sample in the low bits", () => {
    // Y'00..03 = 0x123, 0x2ab, 0x0f5, 0x3c7:
    //   0x123 & 0xff = 0x23; (0x2ab & 0x3f) << 2 | 0x123 >> 8 = 0xac | 1 = 0xad;
    //   (0x0f5 & 0xf) << 4 | 0x2ab >> 6 = 0x50 | 0xa = 0x5a; (0x3c7 & 3) << 6 | 0x0f5 >> 4 = 0xc0 | 0xf = 0xcf;
    //   0x3c7 >> 2 = 0xf1
    // then 0x3ff, 0, 0x3ff, 0: 0xff; 0 << 2 | 3 = 0x03; 0xf << 4 | 0 = 0xf0; 0 << 6 | 0x3f = 0x3f; 0
    const packed = nv15('pack', 8, le16([0x123, 0x2ab, 0x0f5, 0x3c7, 0x3ff, 0, 0x3ff, 0]));
    expect([...packed]).toEqual([0x23, 0xad, 0x5a, 0xcf, 0xf1, 0xff, 0x03, 0xf0, 0x3f, 0x00]);
    expect(nv15('unpack', 8, packed)).toEqual(le16([0x123, 0x2ab, 0x0f5, 0x3c7, 0x3ff, 0, 0x3ff, 0]));
  });

  it('interleaves chroma Cb, Cr, Cb, Cr in each group of 5 bytes', () => {
    // Cb00 = 0x200, Cr00 = 0x155, Cb01 = 0x0aa, Cr01 = 0x3fe:
    //   0x00; (0x155 & 0x3f) << 2 | 0x200 >> 8 = 0x54 | 2 = 0x56; (0x0aa & 0xf) << 4 | 0x155 >> 6 = 0xa0 | 5 = 0xa5;
    //   (0x3fe & 3) << 6 | 0x0aa >> 4 = 0x80 | 0xa = 0x8a; 0x3fe >> 2 = 0xff
    // pack2 input: the Cb plane's samples, then the Cr plane's
    const packed = nv15('pack2', 4, le16([0x200, 0x0aa, 0x155, 0x3fe]));
    expect([...packed]).toEqual([0x00, 0x56, 0xa5, 0x8a, 0xff]);
    expect(nv15('unpack2', 4, packed)).toEqual(le16([0x200, 0x0aa, 0x155, 0x3fe]));
  });

  it("agrees with DRM_FORMAT_NV15's 40-bit little-endian words on every 10-bit value", () => {
    // samples 0..1023 in order, then reversed: each group is s0 | s1 << 10 | s2 << 20 | s3 << 30, 5 bytes LE
    const samples = [...Array.from({ length: 1024 }, (_, i) => i), ...Array.from({ length: 1024 }, (_, i) => 1023 - i)];
    const want = Buffer.alloc((samples.length / 4) * 5);
    for (let g = 0; g < samples.length / 4; g++) {
      let word = 0n;
      for (let k = 0; k < 4; k++) word |= BigInt(samples[4 * g + k]!) << BigInt(10 * k);
      for (let b = 0; b < 5; b++) want[5 * g + b] = Number((word >> BigInt(8 * b)) & 0xffn);
    }
    const packed = nv15('pack', samples.length, le16(samples));
    expect(packed.equals(want)).toBe(true);
    expect(nv15('unpack', samples.length, want)).toEqual(le16(samples));
  });
});
