import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { divider, formatKtapSummary, parseKtap } from '../../src/kernel/ktap.ts';

const FIX = join(import.meta.dirname, 'fixtures', 'kunit');
/**
 * The serial console of a real `workbench kunit` run (series patches 1-5 on
 * the 7.2.13 base, x86_64 KUnit kernel under QEMU TCG), recorded as QEMU
 * wrote it (CRLF line ends).
 */
const REAL = readFileSync(join(FIX, 'rkvdec-serial.txt'), 'utf8');

describe('parseKtap on the recorded real console log', () => {
  it('finds the suite and its 6 cases, all passed, ignoring boot and reboot lines', () => {
    const r = parseKtap(REAL);
    expect(r.found).toBe(true);
    expect(r.version).toBe('KTAP version 1');
    expect(r.plan).toBe(1);
    expect(r.complete).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.tests).toHaveLength(1);
    const s = r.tests[0]!;
    expect(s).toMatchObject({ name: 'rkvdec-vdpu381-vp9', number: 1, status: 'passed', plan: 6 });
    expect(s.subtests.map((t) => [t.number, t.name, t.status])).toEqual([
      [1, 'vp9_key_frame_test', 'passed'],
      [2, 'vp9_inter_frame_test', 'passed'],
      [3, 'vp9_intra_only_frame_test', 'passed'],
      [4, 'vp9_delta_index_test', 'passed'],
      [5, 'vp9_intra_probs_test', 'passed'],
      [6, 'vp9_inter_probs_test', 'passed'],
    ]);
    expect(s.log).toContain('# module: rkvdec_vdpu381_vp9_test');
    expect(r.totals).toEqual({ total: 6, passed: 6, failed: 0, skipped: 0, crashed: 0 });
  });

  it('prints the summary kunit.py prints', () => {
    expect(formatKtapSummary(parseKtap(REAL))).toEqual([
      '============= rkvdec-vdpu381-vp9 (6 subtests) ==============',
      '[PASSED] vp9_key_frame_test',
      '[PASSED] vp9_inter_frame_test',
      '[PASSED] vp9_intra_only_frame_test',
      '[PASSED] vp9_delta_index_test',
      '[PASSED] vp9_intra_probs_test',
      '[PASSED] vp9_inter_probs_test',
      '=============== [PASSED] rkvdec-vdpu381-vp9 ================',
      '============================================================',
      'Testing complete. Ran 6 tests: passed: 6',
    ]);
  });

  it('a real failed expectation (a scratch patch 6 changing one expected value; console recorded from that run)', () => {
    const r = parseKtap(readFileSync(join(FIX, 'rkvdec-serial-fail.txt'), 'utf8'));
    expect(r.complete).toBe(true);
    expect(r.tests[0]).toMatchObject({ name: 'rkvdec-vdpu381-vp9', status: 'failed' });
    expect(r.totals).toEqual({ total: 6, passed: 5, failed: 1, skipped: 0, crashed: 0 });
    const t = r.tests[0]!.subtests[1]!;
    expect(t).toMatchObject({ number: 2, name: 'vp9_inter_frame_test', status: 'failed' });
    expect(t.log).toEqual([
      '# vp9_inter_frame_test: EXPECTATION FAILED at drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c:341',
      'Expected c->state.ctx_valid == 0x7, but',
      '    c->state.ctx_valid == 3 (0x3)',
      '    0x7 == 7 (0x7)',
    ]);
    const sum = formatKtapSummary(r);
    expect(sum.slice(1, 7)).toEqual([
      '[PASSED] vp9_key_frame_test',
      '    # vp9_inter_frame_test: EXPECTATION FAILED at drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c:341',
      '    Expected c->state.ctx_valid == 0x7, but',
      '        c->state.ctx_valid == 3 (0x3)',
      '        0x7 == 7 (0x7)',
      '[FAILED] vp9_inter_frame_test',
    ]);
    expect(sum).toContain('=============== [FAILED] rkvdec-vdpu381-vp9 ================');
    expect(sum.at(-1)).toBe('Testing complete. Ran 6 tests: passed: 5, failed: 1');
  });

  it('a failed expectation with an unindented continuation line (the real log with case 5 turned into the failure the suite once reported)', () => {
    const failed = REAL.replace(
      '    ok 5 vp9_intra_probs_test',
      [
        '    # vp9_intra_probs_test: EXPECTATION FAILED at drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c:412',
        '    Expected buf[n] == val, but',
        '        buf[n] == 0 (0x0)',
        '        val == 253 (0xfd)',
        'byte 3674',
        '    not ok 5 vp9_intra_probs_test',
      ].join('\r\n'),
    ).replace(/^ok 1 rkvdec-vdpu381-vp9/m, 'not ok 1 rkvdec-vdpu381-vp9');
    expect(failed).not.toBe(REAL);
    const r = parseKtap(failed);
    expect(r.totals).toEqual({ total: 6, passed: 5, failed: 1, skipped: 0, crashed: 0 });
    expect(r.tests[0]!.status).toBe('failed');
    const t = r.tests[0]!.subtests[4]!;
    expect(t.status).toBe('failed');
    expect(t.log).toEqual([
      '# vp9_intra_probs_test: EXPECTATION FAILED at drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c:412',
      'Expected buf[n] == val, but',
      '    buf[n] == 0 (0x0)',
      '    val == 253 (0xfd)',
      'byte 3674',
    ]);
    const sum = formatKtapSummary(r);
    expect(sum.slice(5, 11)).toEqual([
      '    # vp9_intra_probs_test: EXPECTATION FAILED at drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c:412',
      '    Expected buf[n] == val, but',
      '        buf[n] == 0 (0x0)',
      '        val == 253 (0xfd)',
      '    byte 3674',
      '[FAILED] vp9_intra_probs_test',
    ]);
    expect(sum.at(-1)).toBe('Testing complete. Ran 6 tests: passed: 5, failed: 1');
  });

  it('a kernel that dies inside the suite: the running case counts as crashed, the run is incomplete', () => {
    const cut =
      REAL.slice(0, REAL.indexOf('    ok 4 ')) +
      'BUG: kernel NULL pointer dereference, address: 0000000000000008\r\nKernel panic - not syncing: Fatal exception\r\n';
    const r = parseKtap(cut);
    expect(r.complete).toBe(false);
    expect(r.tests[0]).toMatchObject({ name: 'rkvdec-vdpu381-vp9', status: 'crashed' });
    expect(r.tests[0]!.subtests).toHaveLength(3);
    expect(r.tests[0]!.log.join('\n')).toContain('Kernel panic');
    expect(r.totals).toEqual({ total: 4, passed: 3, failed: 0, skipped: 0, crashed: 1 });
    expect(r.problems[0]).toMatch(/rkvdec-vdpu381-vp9: no result line/);
    expect(formatKtapSummary(r).at(-1)).toBe('Testing complete. Ran 4 tests: passed: 3, crashed: 1');
  });
});

describe('parseKtap on the KTAP forms of Documentation/dev-tools/ktap.rst', () => {
  it('two-space nesting, SKIP in ok and not ok, failure bubbling, TIMEOUT directive', () => {
    const r = parseKtap(
      [
        'KTAP version 1',
        '1..1',
        '  KTAP version 1',
        '  1..3',
        '    KTAP version 1',
        '    1..1',
        '    # test_1: initializing test_1',
        '    ok 1 test_1',
        '  ok 1 example_test_1',
        '    KTAP version 1',
        '    1..2',
        '    ok 1 test_1 # SKIP test_1 skipped',
        '    not ok 2 test_2 # TIMEOUT 30 seconds',
        '  not ok 2 example_test_2',
        '    KTAP version 1',
        '    1..3',
        '    ok 1 test_1',
        '    # test_2: FAIL',
        '    not ok 2 test_2',
        '    not ok 3 test_3 # SKIP test_3 skipped',
        '  not ok 3 example_test_3',
        'not ok 1 main_test',
      ].join('\n'),
    );
    expect(r.complete).toBe(true);
    const main = r.tests[0]!;
    expect(main).toMatchObject({ name: 'main_test', status: 'failed', plan: 3 });
    const [e1, e2, e3] = main.subtests;
    expect(e1!.subtests[0]).toMatchObject({ name: 'test_1', status: 'passed', log: ['# test_1: initializing test_1'] });
    expect(e2!.subtests.map((t) => [t.status, t.directive, t.reason])).toEqual([
      ['skipped', 'SKIP', 'test_1 skipped'],
      ['failed', 'TIMEOUT', '30 seconds'],
    ]);
    expect(e3!.subtests.map((t) => t.status)).toEqual(['passed', 'failed', 'skipped']);
    expect(r.totals).toEqual({ total: 6, passed: 2, failed: 2, skipped: 2, crashed: 0 });
  });

  it('printk timestamps, kernel noise between cases, TAP14 `# Subtest:` parameterised cases', () => {
    const r = parseKtap(
      [
        '[    0.512345] Run /init as init process',
        '[    0.600000] KTAP version 1',
        '[    0.600001] 1..2',
        '[    0.600002]     KTAP version 1',
        '[    0.600003]     # Subtest: suite_a',
        '[    0.600004]     1..2',
        '[    0.600005] random: crng init done',
        '[    0.600006]     ok 1 case_a',
        '[    0.600007]         KTAP version 1',
        '[    0.600008]         # Subtest: case_param',
        '[    0.600009]         ok 1 param-0',
        '[    0.600010]         ok 2 param-1 # SKIP not on this arch',
        '[    0.600011]     # case_param: pass:1 fail:0 skip:1 total:2',
        '[    0.600012]     ok 2 case_param',
        '[    0.600013] # suite_a: pass:2 fail:0 skip:0 total:2',
        '[    0.600014] ok 1 suite_a',
        '[    0.600015]     KTAP version 1',
        '[    0.600016]     # Subtest: suite_b',
        '[    0.600017]     1..1',
        '[    0.600018]     ok 1 case_b # SKIP no hardware',
        '[    0.600019] ok 2 suite_b # SKIP',
        '[    0.700000] reboot: Restarting system',
      ].join('\n'),
    );
    expect(r.complete).toBe(true);
    expect(r.tests.map((t) => [t.name, t.status])).toEqual([
      ['suite_a', 'passed'],
      ['suite_b', 'skipped'],
    ]);
    const a = r.tests[0]!;
    expect(a.subtests[0]).toMatchObject({ name: 'case_a', log: ['random: crng init done'] });
    expect(a.subtests[1]!.subtests.map((t) => [t.name, t.status])).toEqual([
      ['param-0', 'passed'],
      ['param-1', 'skipped'],
    ]);
    expect(r.totals).toEqual({ total: 4, passed: 2, failed: 0, skipped: 2, crashed: 0 });
    expect(formatKtapSummary(r)).toContain('[SKIPPED] case_b (no hardware)');
  });

  it('Bail out!, a top-level plan not met, no KTAP at all', () => {
    const b = parseKtap('KTAP version 1\n1..2\nok 1 a\nBail out! out of memory\nok 2 b\n');
    expect(b.bailedOut).toBe(true);
    expect(b.complete).toBe(false);
    expect(b.tests.map((t) => t.name)).toEqual(['a']);
    const short = parseKtap('KTAP version 1\n1..3\nok 1 a\nok 2 b\n');
    expect(short.complete).toBe(false);
    expect(short.problems).toEqual(['top-level plan 1..3 but 2 result(s)']);
    const none = parseKtap('Linux version 7.2.13\nKernel panic - not syncing: VFS: Unable to mount root fs\n');
    expect(none).toMatchObject({ found: false, complete: false, tests: [] });
  });

  it('dividers are 60 columns wide like kunit.py', () => {
    expect(divider('rkvdec-vdpu381-vp9 (6 subtests)')).toBe('============= rkvdec-vdpu381-vp9 (6 subtests) ==============');
    expect(divider('[PASSED] rkvdec-vdpu381-vp9')).toHaveLength(60);
  });
});
