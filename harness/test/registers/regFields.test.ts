import { describe, expect, it } from 'vitest';
import { decodeRegisters, fieldValue, memberBases, registerFields } from '../../src/registers/regFields.ts';

// A small register map written for this test in the style of MPP's headers.
// Expected layouts follow the C rules GCC applies on little-endian targets
// (bit-fields fill a 32-bit unit from bit 0; a field that does not fit opens
// the next unit; `: 0`-less unnamed fields take space; a union's members
// overlap; RK_U16 members are 2-byte aligned).
const COM = `
#define OFFSET_A_REGS   (8 * sizeof(RK_U32))
#define OFFSET_B_REGS   (64 * sizeof(RK_U32))
/* a comment with struct inside { } */
typedef struct RegA_t {
    struct SWREG8 {
        RK_U32  lo      : 3;   // bits 0..2
        RK_U32          : 5;
        RK_U32  mid     : 8;
        RK_U32  reserve : 16;
    } reg008;
    RK_U32 reg009_whole;
    union {
        struct SWREG10_X { RK_U32 x : 28; RK_U32 reserve : 4; } reg010_x;
        struct SWREG10_Y { RK_U32 reserve : 4; RK_U32 y : 28; } reg010_y;
    };
    struct SWREG11 {
        RK_U32 a : 20;
        RK_U32 b : 20;
    } reg011;
    RK_U16 reg013_lo;
    RK_U16 reg013_hi;
} RegA;
`;
const SET = `
typedef struct RegB_t {
    struct SWREG64_G { RK_U32 q : 9; RK_U32 r : 23; } reg64_65[2];
    RK_U32 reg66_addr[3];
} RegB;
typedef struct RegSet_t {
    RegA  a;
    RegB  b;
} RegSet;
`;
const HAL = `
        wr_cfg.reg = &hw_regs->a;
        wr_cfg.size = sizeof(hw_regs->a);
        wr_cfg.offset = OFFSET_A_REGS;
        wr_cfg.reg = &hw_regs->b;
        wr_cfg.size = sizeof(hw_regs->b);
        wr_cfg.offset = OFFSET_B_REGS;
`;

describe('register field table from C struct bit-fields', () => {
  const fields = registerFields(
    [
      { file: 'com.h', text: COM },
      { file: 'set.h', text: SET },
    ],
    'RegSet',
    memberBases(HAL, COM),
  );
  const by = Object.fromEntries(fields.map((f) => [f.name, [f.reg, f.lsb, f.width]]));

  it('reads the member bases from the HAL source and the OFFSET_* defines', () => {
    expect(memberBases(HAL, COM)).toEqual({ a: 8, b: 64 });
  });

  it('lays out bit-fields, unnamed padding, whole words, unions, overflow into the next unit and 16-bit members', () => {
    expect(by).toEqual({
      'a.reg008.lo': [8, 0, 3],
      'a.reg008.mid': [8, 8, 8],
      'a.reg008.reserve': [8, 16, 16],
      'a.reg009_whole': [9, 0, 32],
      'a.reg010_x.x': [10, 0, 28],
      'a.reg010_x.reserve': [10, 28, 4],
      'a.reg010_y.reserve': [10, 0, 4],
      'a.reg010_y.y': [10, 4, 28],
      'a.reg011.a': [11, 0, 20],
      'a.reg011.b': [12, 0, 20],
      'a.reg013_lo': [13, 0, 16],
      'a.reg013_hi': [13, 16, 16],
      'b.reg64_65[0].q': [64, 0, 9],
      'b.reg64_65[0].r': [64, 9, 23],
      'b.reg64_65[1].q': [65, 0, 9],
      'b.reg64_65[1].r': [65, 9, 23],
      'b.reg66_addr[0]': [66, 0, 32],
      'b.reg66_addr[1]': [67, 0, 32],
      'b.reg66_addr[2]': [68, 0, 32],
    });
  });

  it('decodes register words into field values', () => {
    expect(fieldValue({ name: 'x', reg: 0, lsb: 9, width: 23 }, 0xffffffff)).toBe(0x7fffff);
    expect(fieldValue({ name: 'x', reg: 0, lsb: 0, width: 32 }, 0x80000001)).toBe(0x80000001);
    const regs = new Map([
      [8, 0x0000ab05],
      [65, (7 << 9) | 3],
    ]);
    const d = decodeRegisters(fields, regs);
    expect(d).toContainEqual({ name: 'a.reg008.lo', reg: 8, value: 5 });
    expect(d).toContainEqual({ name: 'a.reg008.mid', reg: 8, value: 0xab });
    expect(d).toContainEqual({ name: 'b.reg64_65[1].q', reg: 65, value: 3 });
    expect(d).toContainEqual({ name: 'b.reg64_65[1].r', reg: 65, value: 7 });
    expect(d.some((f) => f.reg === 9)).toBe(false);
  });

  it('refuses what it cannot read, naming the construct', () => {
    expect(() => registerFields([{ file: 'x.h', text: 'typedef struct S_t { float f; } S;' }], 'S', { f: 0 })).toThrow(
      /x\.h: unsupported member starting at "float f/,
    );
    expect(() => registerFields([{ file: 'x.h', text: COM }], 'Nope', {})).toThrow(/struct Nope not found in x\.h/);
    expect(() =>
      registerFields(
        [
          { file: 'c', text: COM },
          { file: 's', text: SET },
        ],
        'RegSet',
        { a: 8 },
      ),
    ).toThrow(/RegSet\.b has no register base/);
  });
});
