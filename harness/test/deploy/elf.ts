import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModuleArtifact } from '../../src/deploy/types.ts';

/**
 * Writes a minimal ELF64 little-endian relocatable file with a `.modinfo`
 * section (and optionally `__ksymtab_strings`), enough for the workbench's
 * .modinfo reader. Not loadable: for unit tests of our own parsing/planning.
 */
export function fakeKo(dir: string, file: string, modinfo: Record<string, string | string[]>, exportsList: string[] = []): string {
  const info = Buffer.from(
    Object.entries(modinfo)
      .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}\0`))
      .join(''),
  );
  const ks = Buffer.from(exportsList.map((e) => `${e}\0`).join(''));
  const names = Buffer.from('\0.modinfo\0__ksymtab_strings\0.shstrtab\0');
  const sections: { name: number; data: Buffer }[] = [
    { name: 1, data: info },
    { name: 10, data: ks },
    { name: 28, data: names },
  ];
  let off = 64;
  const placed = sections.map((s) => {
    const p = { ...s, offset: off };
    off += s.data.length;
    return p;
  });
  const shoff = off;
  const shnum = sections.length + 1;
  const buf = Buffer.alloc(shoff + shnum * 64);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little endian
  buf[6] = 1;
  buf.writeUInt16LE(1, 0x10); // ET_REL
  buf.writeUInt16LE(62, 0x12); // x86_64
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x34);
  buf.writeUInt16LE(64, 0x3a);
  buf.writeUInt16LE(shnum, 0x3c);
  buf.writeUInt16LE(shnum - 1, 0x3e);
  placed.forEach((s, i) => {
    s.data.copy(buf, s.offset);
    const h = shoff + (i + 1) * 64;
    buf.writeUInt32LE(s.name, h);
    buf.writeUInt32LE(1, h + 4); // PROGBITS
    buf.writeBigUInt64LE(BigInt(s.offset), h + 0x18);
    buf.writeBigUInt64LE(BigInt(s.data.length), h + 0x20);
  });
  const path = join(dir, file);
  writeFileSync(path, buf);
  return path;
}

/** A fake visl.ko artifact built for `release`. */
export function fakeVisl(release = '7.2.13+deb14-amd64', extra: Record<string, string | string[]> = {}): ModuleArtifact {
  const dir = mkdtempSync(join(tmpdir(), 'wb-fakeko-'));
  const vermagic = `${release} SMP preempt mod_unload modversions `;
  const path = fakeKo(dir, 'visl.ko', { description: 'Virtual stateless decoder device', depends: 'v4l2-mem2mem', name: 'visl', vermagic, ...extra });
  return { name: 'visl', path, vermagic, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}
