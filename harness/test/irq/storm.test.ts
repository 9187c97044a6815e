import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findStorms, parseIrqLines } from '../../src/irq/storm.ts';

// Real /proc/interrupts of the simboard during an irq-storm fault (fixtures/README.md):
// line 26 is the decoder's, "26:    6692507          0  GICv3  144 Level  c000000.video-codec".
const proc = readFileSync(join(import.meta.dirname, 'fixtures', 'simboard-proc-interrupts.txt'), 'utf8');
const decoderLine = proc.split('\n').find((l) => l.includes('c000000.video-codec'))!;

describe('decoder interrupt counts (/proc/interrupts)', () => {
  it('sums the per-CPU counts of the lines naming the device', () => {
    expect(parseIrqLines(`WB-DEV c000000.video-codec\n${decoderLine}\n`)).toEqual([{ irq: '26', device: 'c000000.video-codec', count: 6692507 }]);
    // two CPUs with counts: the timer line of the same file, 42942 + 18629
    const timer = proc.split('\n').find((l) => l.endsWith('arch_timer'))!;
    expect(parseIrqLines(`WB-DEV arch_timer\n${timer}`)[0]!.count).toBe(42942 + 18629);
  });

  it('ignores lines of other devices and a device without a line (no IRQ requested)', () => {
    expect(parseIrqLines(`WB-DEV other.codec\n${proc}`)).toEqual([]);
    expect(parseIrqLines('WB-DEV c000000.video-codec\n')).toEqual([]);
  });

  it('a storm is more interrupts than two per job plus 16; a double interrupt per job is not one', () => {
    const at = (count: number) => [{ irq: '26', device: 'c000000.video-codec', count }];
    expect(findStorms(at(100), at(100 + 23), 23)).toEqual([]);
    expect(findStorms(at(100), at(100 + 2 * 23 + 16), 23)).toEqual([]);
    expect(findStorms(at(100), at(100 + 2 * 23 + 17), 23)).toEqual([{ irq: '26', device: 'c000000.video-codec', interrupts: 63, jobs: 23 }]);
    // a line that appeared during the vector (the module was reloaded): counted from 0
    expect(findStorms([], at(6692507), 23)[0]!.interrupts).toBe(6692507);
  });
});
