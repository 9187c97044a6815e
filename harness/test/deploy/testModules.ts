import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureToolbox } from '../../src/toolbox/toolbox.ts';
import { ensureVislModules } from '../../src/vboard/modules.ts';
import { parseModInfo } from '../../src/deploy/modinfo.ts';
import type { ModuleArtifact } from '../../src/deploy/types.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

/** The vboard's out-of-tree visl.ko and v4l2-mem2mem.ko, as built by the toolbox (cached). */
export async function vislBuild(): Promise<{ visl: string; m2m: string }> {
  const tb = await ensureToolbox({ runner: new ExecaRunner(), log: (m) => process.stderr.write(`[toolbox] ${m}\n`) });
  const mods = await ensureVislModules(tb, { log: (m) => process.stderr.write(`[visl] ${m}\n`) });
  return { visl: join(mods.dir, 'visl.ko'), m2m: join(mods.dir, 'v4l2-mem2mem.ko') };
}

/** A ModuleArtifact for a local .ko. */
export function artifact(path: string): ModuleArtifact {
  const buf = readFileSync(path);
  const info = parseModInfo(buf, path);
  return { name: info.name, path, vermagic: info.vermagic, sha256: createHash('sha256').update(buf).digest('hex') };
}

function sectionHeader(buf: Buffer, wanted: string): { hdr: number; offset: number; size: number } {
  // ELF64 little-endian (x86_64 / arm64 modules).
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const strOff = Number(buf.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18));
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    const nameOff = strOff + buf.readUInt32LE(h);
    const name = buf.subarray(nameOff, buf.indexOf(0, nameOff)).toString('ascii');
    if (name === wanted) return { hdr: h, offset: Number(buf.readBigUInt64LE(h + 0x18)), size: Number(buf.readBigUInt64LE(h + 0x20)) };
  }
  throw new Error(`no section ${wanted}`);
}

/**
 * A copy of `ko` that still loads but differs in bytes: one character of its
 * `description=` text in .modinfo is changed (same length; srcversion and
 * code unchanged). Lets a test tell the deployed file from the original.
 */
export function loadableVariant(ko: string, tag: string): string {
  const name = ko.split('/').pop()!;
  const buf = Buffer.from(readFileSync(ko));
  const sec = sectionHeader(buf, '.modinfo');
  const text = buf.subarray(sec.offset, sec.offset + sec.size);
  const i = text.indexOf('description=');
  if (i < 0) throw new Error(`${ko}: no description in .modinfo`);
  const at = sec.offset + i + 'description='.length;
  buf[at] = tag.charCodeAt(0);
  const out = join(mkdtempSync(join(tmpdir(), 'wb-ko-')), name);
  writeFileSync(out, buf);
  return out;
}

/**
 * A "broken build": `.gnu.linkonce.this_module` (struct module) has the
 * wrong size, so the kernel refuses it ("section size must match the
 * kernel's built struct module size", modprobe: Exec format error) although
 * its vermagic is right.
 */
export function brokenVariant(ko: string): string {
  const buf = Buffer.from(readFileSync(ko));
  const s = sectionHeader(buf, '.gnu.linkonce.this_module');
  buf.writeBigUInt64LE(BigInt(s.size - 64), s.hdr + 0x20);
  const out = join(mkdtempSync(join(tmpdir(), 'wb-ko-')), 'visl.ko');
  writeFileSync(out, buf);
  return out;
}
