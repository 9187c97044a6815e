import { WorkbenchError } from '../core/errors.ts';

/**
 * A register field of MPP's register map, laid out as GCC lays out the C
 * struct on a little-endian target: bit-fields of a 32-bit unit fill it
 * from bit 0 upwards, a field that does not fit opens the next unit
 * (System V ABI bit-field rules, as GCC applies them to these headers).
 */
export interface RegField {
  /** Dotted path under the register-set struct, e.g. `vp9d_param.reg106.framewidth_last`, `vp9d_param.reg67_74[2].segid_frame_qp_delta`. */
  name: string;
  /** Register index (byte offset / 4) in the decoder's register file. */
  reg: number;
  /** Lowest bit in that register. */
  lsb: number;
  /** Width in bits (1..32). */
  width: number;
}

interface Member {
  name: string | null;
  /** Size in bits when laid out. */
  kind: 'bits' | 'scalar' | 'struct' | 'union';
  /** bits: width; scalar: bits of the type (8/16/32). */
  bits: number;
  count: number;
  children?: Member[];
}

const SCALARS: Record<string, number> = { RK_U32: 32, RK_S32: 32, RK_U16: 16, RK_S16: 16, RK_U8: 8, RK_S8: 8 };

/** Removes comments and preprocessor lines. */
function clean(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/^\s*#[^\n]*(\\\n[^\n]*)*/gm, ' ');
}

function tokenize(src: string): string[] {
  return clean(src).match(/[A-Za-z_]\w*|\d+|[{}[\];:,()*=]/g) ?? [];
}

/** `typedef struct Tag { ... } Name;` bodies of a header, by typedef name (token lists). */
export function typedefStructs(header: string): Map<string, string[]> {
  const toks = tokenize(header);
  const out = new Map<string, string[]>();
  for (let i = 0; i < toks.length; i++) {
    if (toks[i] !== 'typedef' || toks[i + 1] !== 'struct') continue;
    let j = i + 2;
    if (toks[j] !== '{') j++;
    if (toks[j] !== '{') continue;
    let depth = 0;
    let k = j;
    for (; k < toks.length; k++) {
      if (toks[k] === '{') depth++;
      else if (toks[k] === '}' && --depth === 0) break;
    }
    const name = toks[k + 1];
    if (name && toks[k + 2] === ';') out.set(name, toks.slice(j + 1, k));
    i = k;
  }
  return out;
}

function parseMembers(t: string[], file: string, types: Map<string, string[]>): Member[] {
  const out: Member[] = [];
  let i = 0;
  const expect = (tok: string) => {
    if (t[i] !== tok) throw new WorkbenchError('E_REGFIELDS', `${file}: expected "${tok}" near "${t.slice(Math.max(0, i - 4), i + 4).join(' ')}"`);
    i++;
  };
  const declarator = (): { name: string | null; count: number } => {
    let name: string | null = null;
    let count = 1;
    if (t[i] && /^[A-Za-z_]/.test(t[i]!)) name = t[i++]!;
    if (t[i] === '[') {
      i++;
      count = Number(t[i++]);
      expect(']');
    }
    return { name, count };
  };
  while (i < t.length) {
    const tok = t[i]!;
    if (tok === 'struct' || tok === 'union') {
      i++;
      if (t[i] !== '{') i++; // tag
      expect('{');
      let depth = 1;
      const start = i;
      while (depth) {
        if (t[i] === '{') depth++;
        else if (t[i] === '}') depth--;
        i++;
      }
      const children = parseMembers(t.slice(start, i - 1), file, types);
      const d = declarator();
      expect(';');
      out.push({ name: d.name, kind: tok, bits: 0, count: d.count, children });
      continue;
    }
    if (SCALARS[tok] !== undefined) {
      i++;
      const d = declarator();
      if (t[i] === ':') {
        i++;
        const w = Number(t[i++]);
        expect(';');
        out.push({ name: d.name, kind: 'bits', bits: w, count: 1 });
      } else {
        expect(';');
        out.push({ name: d.name, kind: 'scalar', bits: SCALARS[tok]!, count: d.count });
      }
      continue;
    }
    if (types.has(tok)) {
      i++;
      const d = declarator();
      expect(';');
      out.push({ name: d.name, kind: 'struct', bits: 0, count: d.count, children: parseMembers(types.get(tok)!, file, types) });
      continue;
    }
    throw new WorkbenchError('E_REGFIELDS', `${file}: unsupported member starting at "${t.slice(i, i + 6).join(' ')}"`, {
      hint: 'the register-map parser understands RK_* scalars, bit-fields, nested structs/unions and arrays',
    });
  }
  return out;
}

/** Lays out members from bit `base`; returns the size in bits (rounded to the struct's 32-bit alignment). */
function layout(members: Member[], base: number, prefix: string, emit: (f: { name: string; bit: number; width: number }) => void): number {
  let pos = base;
  for (const m of members) {
    const path = m.name === null ? prefix : prefix ? `${prefix}.${m.name}` : m.name;
    for (let n = 0; n < m.count; n++) {
      const p = m.count > 1 ? `${path}[${n}]` : path;
      if (m.kind === 'bits') {
        const unitEnd = Math.floor(pos / 32) * 32 + 32;
        if (m.bits === 0) {
          pos = pos % 32 ? unitEnd : pos;
          continue;
        }
        if (pos + m.bits > unitEnd) pos = unitEnd;
        if (m.name !== null) emit({ name: p, bit: pos, width: m.bits });
        pos += m.bits;
      } else if (m.kind === 'scalar') {
        pos = Math.ceil(pos / m.bits) * m.bits;
        if (m.name !== null) emit({ name: p, bit: pos, width: m.bits });
        pos += m.bits;
      } else if (m.kind === 'struct') {
        pos = Math.ceil(pos / 32) * 32;
        pos += layout(m.children!, pos, p, emit);
      } else {
        pos = Math.ceil(pos / 32) * 32;
        let size = 0;
        for (const c of m.children!) size = Math.max(size, layout([c], pos, p, emit));
        pos += size;
      }
    }
  }
  return Math.ceil((pos - base) / 32) * 32;
}

/**
 * The fields of a register-set struct (e.g. `Vdpu34xVp9dRegSet` of MPP's
 * mpp/hal/rkdec/inc/vdpu34x_vp9d.h, whose members are structs of
 * vdpu34x_com.h), each top-level member placed at the register index
 * `bases[member]` (from the HAL's `wr_cfg.offset = OFFSET_*` lines, see
 * {@link memberBases}). Reserved fields (`reserve*`, unnamed) are kept:
 * a difference there is still a difference.
 *
 * @throws WorkbenchError `E_REGFIELDS` naming the header construct it cannot read
 *   or a member without a base.
 */
export function registerFields(headers: { file: string; text: string }[], setName: string, bases: Record<string, number>): RegField[] {
  const types = new Map<string, string[]>();
  for (const h of headers) for (const [k, v] of typedefStructs(h.text)) types.set(k, v);
  const set = types.get(setName);
  if (!set) throw new WorkbenchError('E_REGFIELDS', `struct ${setName} not found in ${headers.map((h) => h.file).join(', ')}`);
  const file = headers.map((h) => h.file).join('+');
  const out: RegField[] = [];
  for (const m of parseMembers(set, file, types)) {
    if (m.name === null || bases[m.name] === undefined) {
      throw new WorkbenchError('E_REGFIELDS', `${setName}.${m.name ?? '(anonymous)'} has no register base`, {
        hint: 'the HAL source names no OFFSET_* for it',
      });
    }
    const base = bases[m.name]! * 32;
    layout([m], base, '', (f) => out.push({ name: f.name, reg: Math.floor(f.bit / 32), lsb: f.bit % 32, width: f.width }));
  }
  return out;
}

/**
 * The register base of each member of the register set, read from the
 * HAL's source: `wr_cfg.reg = &hw_regs->MEMBER; ... wr_cfg.offset = OFFSET_X;`
 * (and `rd_cfg` likewise), with `#define OFFSET_X (N * sizeof(RK_U32))`
 * from the common header.
 * @throws WorkbenchError `E_REGFIELDS` when an OFFSET_* is not defined.
 */
export function memberBases(halSource: string, comHeader: string): Record<string, number> {
  const defs = new Map<string, number>();
  for (const m of comHeader.matchAll(/#define\s+(OFFSET_\w+)\s+\(\s*(\d+)\s*\*\s*sizeof\(RK_U32\)\s*\)/g)) defs.set(m[1]!, Number(m[2]));
  const out: Record<string, number> = {};
  for (const m of halSource.matchAll(/(?:wr|rd)_cfg\.reg\s*=\s*&hw_regs->(\w+);[\s\S]*?(?:wr|rd)_cfg\.offset\s*=\s*(OFFSET_\w+);/g)) {
    const v = defs.get(m[2]!);
    if (v === undefined) throw new WorkbenchError('E_REGFIELDS', `${m[2]} is used by the HAL but not defined in the common header`);
    out[m[1]!] = v;
  }
  return out;
}

/** Value of a field in a register word. */
export function fieldValue(f: RegField, word: number): number {
  return f.width === 32 ? word >>> 0 : (word >>> f.lsb) & (((1 << f.width) >>> 0) - 1);
}

/** The fields of a record's written registers with their values (fields of registers the record did not write are left out). */
export function decodeRegisters(fields: readonly RegField[], regs: ReadonlyMap<number, number>): { name: string; reg: number; value: number }[] {
  const out: { name: string; reg: number; value: number }[] = [];
  for (const f of fields) {
    const w = regs.get(f.reg);
    if (w !== undefined) out.push({ name: f.name, reg: f.reg, value: fieldValue(f, w) });
  }
  return out;
}
