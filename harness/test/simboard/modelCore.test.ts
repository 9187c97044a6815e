import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/core/cache.ts';
import {
  LIBVPX_CONFIGURE_ARGS,
  MODEL_BUILD_PACKAGES,
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
    // the model's own sources key only the second step
    expect(cacheKey(modelCoreInputs('v', { 'src/model.c': '1' }))).not.toBe(cacheKey(modelCoreInputs('v', { 'src/model.c': '2' })));
  });
});
