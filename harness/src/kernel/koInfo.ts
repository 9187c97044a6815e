import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';

/** One built kernel module. */
export interface BuiltModule {
  /** Module file name without .ko (`rockchip-vdec`; modprobe also accepts rockchip_vdec). */
  name: string;
  /** Host path of the .ko (inside the persistent build directory). */
  path: string;
  /** The `vermagic=` tag, e.g. `7.2.13+deb14-amd64 SMP preempt mod_unload `. */
  vermagic: string;
  /** The `depends=` tag split (module names). */
  depends: string[];
  /** ELF e_machine as a name: `x86-64`, `AArch64`, or `machine <n>`. */
  machine: string;
  /** File size, bytes. */
  size: number;
  sha256: string;
}

/** ELF e_machine values (System V gABI, `EM_*` in elf.h). */
const MACHINES: Record<number, string> = { 3: 'i386', 40: 'ARM', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V' };

/**
 * Reads a .ko: the `.modinfo` tags (NUL-terminated `key=value` strings; the
 * same ones `modinfo` prints) and the ELF header's machine (e_machine at
 * offset 18, little-endian for both targets).
 */
export async function readKo(path: string): Promise<BuiltModule> {
  const buf = await readFile(path);
  const tags = modinfoTags(buf);
  const isElf = buf.length > 20 && buf.readUInt32BE(0) === 0x7f454c46;
  const em = isElf ? buf.readUInt16LE(18) : -1;
  return {
    name: basename(path, '.ko'),
    path,
    vermagic: tags.vermagic?.[0] ?? '',
    depends: (tags.depends?.[0] ?? '').split(',').filter(Boolean),
    machine: isElf ? (MACHINES[em] ?? `machine ${em}`) : 'not ELF',
    size: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
  };
}

/** `key=value` strings of a module image (all occurrences per key). */
export function modinfoTags(buf: Buffer): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // Tags of interest are plain ASCII `key=value\0` records in .modinfo.
  const re = /(?:^|\0)(vermagic|name|depends|license|srcversion|description|alias)=([\x20-\x7e]*)(?=\0)/g;
  const text = buf.toString('latin1');
  for (const m of text.matchAll(re)) (out[m[1]!] ??= []).push(m[2]!);
  return out;
}
