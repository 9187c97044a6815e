import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isArm64Image, vmlinuzKind } from '../../src/farm/bootArtefacts.ts';

/**
 * Kernel packings, built here from their definitions (not from the code
 * under test): the arm64 Image header (Linux
 * Documentation/arch/arm64/booting.rst: 64 bytes, magic 0x644d5241
 * "ARM\\x64" little-endian at offset 0x38), gzip by node's zlib, and the
 * EFI zboot header (drivers/firmware/efi/libstub/zboot-header.S: "MZ", 2
 * bytes, "zimg", u32 payload offset, u32 payload size, 8 reserved bytes,
 * the compression name as a C string at 24).
 */
function arm64Image(size = 4096): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(0x14000000 | 16, 0); // code0: b stext
  b.write('ARM\x64', 0x38, 'latin1');
  return b;
}

describe('farm boot artefacts', () => {
  it('recognises an arm64 Image by its header magic', () => {
    expect(isArm64Image(arm64Image())).toBe(true);
    expect(isArm64Image(Buffer.alloc(4096))).toBe(false);
    expect(vmlinuzKind(arm64Image())).toEqual({ kind: 'image' });
  });

  it('tells gzip and EFI zboot packings apart and reads the zboot payload window', () => {
    expect(vmlinuzKind(gzipSync(arm64Image()))).toEqual({ kind: 'gzip' });
    const payload = gzipSync(arm64Image());
    const h = Buffer.alloc(0x1000 + payload.length);
    h.write('MZ', 0, 'latin1');
    h.write('zimg', 4, 'latin1');
    h.writeUInt32LE(0x1000, 8);
    h.writeUInt32LE(payload.length, 12);
    h.write('gzip\0', 24, 'latin1');
    payload.copy(h, 0x1000);
    expect(vmlinuzKind(h)).toEqual({ kind: 'zboot', offset: 0x1000, size: payload.length, compression: 'gzip' });
    expect(vmlinuzKind(Buffer.from('not a kernel at all, not even close to one'.repeat(4)))).toEqual({ kind: 'unknown' });
  });
});
