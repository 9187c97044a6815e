import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import type { ModuleArtifact } from './types.ts';

/**
 * Reads a kernel module's `.modinfo` section from the local `.ko` (ELF),
 * without running `modinfo`. The section is a list of NUL-terminated
 * `key=value` strings (include/linux/moduleparam.h `__MODULE_INFO`; the
 * build adds `name=`, `vermagic=`, `srcversion=`, `depends=`, `alias=`...).
 */
export interface ModInfo {
  /** `name=` (KBUILD_MODNAME: `-` already turned into `_`). */
  name: string;
  vermagic: string;
  srcversion?: string;
  depends: string[];
  /** Device aliases (`of:N*T*Crockchip,rk3588-vdec`, `platform:visl`...): fnmatch patterns. */
  aliases: string[];
  /** Every key with all its values. */
  all: Record<string, string[]>;
}

function sectionBytes(buf: Buffer, wanted: string, file: string): Buffer | undefined {
  const bad = (why: string) =>
    new WorkbenchError('E_BAD_MODULE', `${file} is not a valid kernel module: ${why}`, { hint: 'rebuild the module; the file may be truncated' });
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw bad('no ELF header');
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const shoff = is64 ? u64(0x28) : u32(0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (!shoff || shoff + shnum * shentsize > buf.length || shstrndx >= shnum) throw bad('section headers out of range');
  const sec = (i: number) => {
    const b = shoff + i * shentsize;
    return is64 ? { name: u32(b), offset: u64(b + 0x18), size: u64(b + 0x20) } : { name: u32(b), offset: u32(b + 0x10), size: u32(b + 0x14) };
  };
  const strtab = sec(shstrndx);
  if (strtab.offset + strtab.size > buf.length) throw bad('section name table out of range');
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    const nameStart = strtab.offset + s.name;
    const nameEnd = buf.indexOf(0, nameStart);
    if (buf.subarray(nameStart, nameEnd).toString('ascii') === wanted) {
      if (s.offset + s.size > buf.length) throw bad(`${wanted} out of range`);
      return buf.subarray(s.offset, s.offset + s.size);
    }
  }
  return undefined;
}

/**
 * Parses `.modinfo` of a module file's bytes.
 * @throws WorkbenchError E_BAD_MODULE (not ELF, no .modinfo, no vermagic).
 */
export function parseModInfo(buf: Buffer, file: string): ModInfo {
  const sec = sectionBytes(buf, '.modinfo', file);
  if (!sec) throw new WorkbenchError('E_BAD_MODULE', `${file} has no .modinfo section (not a kernel module?)`);
  const all: Record<string, string[]> = {};
  for (const s of sec.toString('utf8').split('\0')) {
    const eq = s.indexOf('=');
    if (eq <= 0) continue;
    (all[s.slice(0, eq)] ??= []).push(s.slice(eq + 1));
  }
  const vermagic = all.vermagic?.[0];
  if (!vermagic) throw new WorkbenchError('E_BAD_MODULE', `${file}: .modinfo has no vermagic`, { hint: 'build it with the kernel build system (kbuild)' });
  const name = all.name?.[0] ?? basename(file).replace(/\.ko$/, '').replace(/-/g, '_');
  return {
    name,
    vermagic,
    ...(all.srcversion?.[0] ? { srcversion: all.srcversion[0] } : {}),
    depends: (all.depends?.[0] ?? '').split(',').filter(Boolean),
    aliases: all.alias ?? [],
    all,
  };
}

/**
 * Symbols a module exports, as depmod sees them: the strings of its
 * `__ksymtab_strings` section (kmod reads the same section).
 */
export function readExports(buf: Buffer, file: string): string[] {
  const sec = sectionBytes(buf, '__ksymtab_strings', file);
  if (!sec) return [];
  return [...new Set(sec.toString('utf8').split('\0').filter(Boolean))].sort();
}

/** Reads `.modinfo` of a local `.ko` file. */
export async function readModInfo(file: string): Promise<ModInfo> {
  return parseModInfo(await readFile(file), file);
}

/** The kernel release a vermagic string was built for (its first field). */
export function vermagicRelease(vermagic: string): string {
  return vermagic.trim().split(/\s+/)[0] ?? '';
}

/**
 * {@link ModuleArtifact}s for local `.ko` files, or every `*.ko` in a directory.
 * @throws WorkbenchError E_BAD_MODULE, E_NO_MODULES.
 */
export async function artifactsFromPaths(paths: string[]): Promise<ModuleArtifact[]> {
  const files: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new WorkbenchError('E_NO_MODULES', `${p}: no such file or directory`, { hint: 'pass built .ko files or the directory holding them' });
    if (st.isDirectory()) {
      for (const f of (await readdir(p)).sort()) if (f.endsWith('.ko')) files.push(join(p, f));
    } else files.push(p);
  }
  if (files.length === 0) throw new WorkbenchError('E_NO_MODULES', `no .ko files in ${paths.join(', ')}`, { hint: 'build the modules first' });
  const out: ModuleArtifact[] = [];
  for (const f of files) {
    const buf = await readFile(f);
    const info = parseModInfo(buf, f);
    out.push({ name: info.name, path: f, vermagic: info.vermagic, sha256: createHash('sha256').update(buf).digest('hex') });
  }
  return out;
}
