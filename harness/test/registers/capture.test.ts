import { describe, expect, it } from 'vitest';
import { parseCapture } from '../../src/registers/capture.ts';
import { registerMap } from '../../src/registers/records.ts';
import { captureLine, type Access } from './captureLine.ts';

describe('simboard capture reader', () => {
  it('turns a job into the written register blocks with the values seen at DEC_E, plus the whole snapshot', () => {
    const func = new Array(320).fill(0);
    func[2] = 0xdead; // left by an earlier job, not written in this one
    func[64] = 0x11;
    func[65] = 0x22;
    func[67] = 0x33;
    func[10] = 0x1;
    const acc: Access[] = [
      ['w', 'link', 0x10, 5, 1], // link block: not a function register
      ['w', 'function', 65 * 4, 0x99, 2], // overwritten below: the snapshot holds the value at DEC_E
      ['w', 'function', 64 * 4, 0x11, 3],
      ['w', 'function', 65 * 4, 0x22, 4],
      ['w', 'function', 67 * 4, 0x33, 5],
      ['w', 'function', 0x028, 1, 6], // DEC_E
      ['r', 'function', 0x380, 7, 7],
      ['w', 'function', 0x380, 0, 8], // after DEC_E: not part of the programming
    ];
    const [j] = parseCapture(captureLine(4, func, acc) + '\n', 'cap.jsonl');
    expect(j!.job).toBe(4);
    expect(j!.status).toBe(7);
    expect(j!.end).toBe('ack');
    expect(j!.source).toBe('cap.jsonl:1');
    expect(j!.writes).toEqual([
      { offset: 40, size: 4, values: [1] },
      { offset: 256, size: 8, values: [0x11, 0x22] },
      { offset: 268, size: 4, values: [0x33] },
    ]);
    expect([...registerMap(j!)]).toEqual([
      [10, 1],
      [64, 0x11],
      [65, 0x22],
      [67, 0x33],
    ]);
    expect(j!.snapshot).toHaveLength(320);
    expect(j!.snapshot[2]).toBe(0xdead);
    expect(j!.written.has(224)).toBe(false);
  });

  it('reads a full word (bit 31 set) without a sign', () => {
    const func = new Array(320).fill(0);
    func[130] = 0xfff00000;
    const [j] = parseCapture(captureLine(1, func, [['w', 'function', 130 * 4, 0xfff00000, 1]]), 'c');
    expect(j!.snapshot[130]).toBe(0xfff00000);
  });

  it('ignores keys a later model adds, but not another format number', () => {
    const func = new Array(320).fill(0);
    expect(parseCapture(captureLine(1, func, [], { irq_count: 3 }), 'c')).toHaveLength(1);
    const v2 = captureLine(1, func, []).replace('"format":1', '"format":2');
    expect(() => parseCapture(v2, 'c.jsonl')).toThrow(/c\.jsonl:1: field "format"/);
  });

  it('names the file, line and field of bad input', () => {
    const good = captureLine(1, new Array(320).fill(0), []);
    const short = good.replace(/"function":"0{8}/, '"function":"');
    expect(() => parseCapture(`${good}\n\n${short}\n`, 'runs/cap.jsonl')).toThrow(/runs\/cap\.jsonl:3: field "function": expected 2560 hex digits/);
    expect(() => parseCapture(`${good}\n{"format":1,`, 'cap.jsonl')).toThrow(/cap\.jsonl:2: not JSON/);
    const badAccess = good.replace('"accesses":[]', '"accesses":[["x","function",0,0,0]]');
    expect(() => parseCapture(badAccess, 'cap.jsonl')).toThrow(/cap\.jsonl:1: field "accesses\.0\.0"/);
    expect(() => parseCapture(good, 'cap.jsonl', 41)).not.toThrow();
    expect(() => parseCapture(short, 'cap.jsonl', 41)).toThrow(/cap\.jsonl:41:/);
  });
});
