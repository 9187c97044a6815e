import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classify, failures, parseKernelLog, sliceBetween, findMarker, describeFinding } from '../../src/irq/kernelLog.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => parseKernelLog(readFileSync(join(here, 'fixtures', name), 'utf8'));
const kinds = (name: string) => classify(fixture(name)).map((f) => f.kind);

describe('parseKernelLog', () => {
  it('reads dmesg -r lines: level, facility, time, text', () => {
    const [l] = parseKernelLog('<12>[  122.900100] WORKBENCH-MARK abc x\n');
    expect(l).toEqual({ level: 4, facility: 1, time: 122.9001, text: 'WORKBENCH-MARK abc x' });
  });
  it('reads plain/console lines with a caller id', () => {
    const [l] = parseKernelLog("[   12.345678][  T123] visl: unknown parameter 'x' ignored\r\n");
    expect(l!.time).toBeCloseTo(12.345678);
    expect(l!.text).toBe("visl: unknown parameter 'x' ignored");
  });
  it('reads /dev/kmsg records and drops dictionary lines', () => {
    const ls = parseKernelLog(
      '3,1234,1032117483,-;rkvdec fdc38100.video-codec: Frame processing timed out!\n SUBSYSTEM=platform\n DEVICE=+platform:fdc38100.video-codec\n',
    );
    expect(ls).toHaveLength(1);
    expect(ls[0]).toMatchObject({ level: 3, facility: 0, text: 'rkvdec fdc38100.video-codec: Frame processing timed out!' });
    expect(ls[0]!.time).toBeCloseTo(1032.117483);
    expect(classify(ls)[0]!.kind).toBe('rkvdec_timeout');
  });
});

describe('classify on real-format kernel log excerpts', () => {
  it('x86 NULL pointer dereference in visl: one BUG report with its Oops, call trace and module', () => {
    const f = classify(fixture('x86-null-deref-visl.dmesg'));
    const errs = failures(f);
    expect(errs.map((x) => x.kind)).toEqual(['bug']);
    expect(errs[0]!.line).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    expect(errs[0]!.context).toContain('Oops: Oops: 0000 [#1] SMP NOPTI');
    expect(errs[0]!.context.at(-1)).toMatch(/^---\[ end trace/);
    expect(errs[0]!.modules).toEqual(expect.arrayContaining(['visl', 'v4l2_mem2mem', 'mc']));
    // The out-of-tree taint notices are informational, not failures.
    expect(f.filter((x) => x.kind === 'taint')).toHaveLength(2);
    expect(f.filter((x) => x.kind === 'taint').every((x) => x.severity === 'info')).toBe(true);
  });

  it('arm64 rkvdec Oops: one oops finding naming rockchip_vdec', () => {
    const f = classify(fixture('arm64-rkvdec-oops.dmesg'));
    expect(f.map((x) => x.kind)).toEqual(['oops']);
    expect(f[0]!.line).toMatch(/^Unable to handle kernel NULL pointer dereference/);
    expect(f[0]!.context).toContain('Internal error: Oops: 0000000096000006 [#1]  SMP');
    expect(f[0]!.modules).toContain('rockchip_vdec');
    expect(f[0]!.time).toBeCloseTo(415.306812);
  });

  it('WARNING with call trace, old and new __warn formats', () => {
    const old = classify(fixture('warn-old-format.dmesg'));
    expect(old.map((x) => x.kind)).toEqual(['warn']);
    expect(old[0]!.modules).toEqual(expect.arrayContaining(['videobuf2_common', 'visl']));
    expect(old[0]!.context).not.toContain('visl visl.0: streamoff done');
    const nu = classify(fixture('warn-new-format.dmesg'));
    expect(nu.map((x) => x.kind)).toEqual(['warn']);
    expect(nu[0]!.line).toContain('CPU#1: gst-launch-1.0/745');
  });

  it('hung task and soft lockup', () => {
    const f = classify(fixture('hung-task.dmesg'));
    expect(f.map((x) => x.kind)).toEqual(['hung_task', 'soft_lockup']);
    expect(f[0]!.context).toContain('task:gst-launch-1.0  state:D stack:0     pid:812   tgid:812   ppid:790    task_flags:0x400000 flags:0x00004002');
    expect(f[0]!.context).not.toContain('watchdog: BUG: soft lockup - CPU#2 stuck for 26s! [kworker/2:1:123]');
  });

  it('RK3588 IOMMU fault, bus error and rkvdec watchdog timeout; other codecs separately', () => {
    const f = classify(fixture('rk3588-watchdog-iommu.dmesg'));
    expect(f.map((x) => x.kind)).toEqual(['iommu_fault', 'iommu_fault', 'rkvdec_timeout', 'codec_timeout']);
    expect(f[0]!.context).toHaveLength(2);
    expect(f[0]!.context[0]).toMatch(/dte_index/);
    expect(f[2]!.line).toBe('rkvdec fdc38100.video-codec: Frame processing timed out!');
  });

  it('module load errors name the module; probe failures are errors', () => {
    const f = classify(fixture('module-load-errors.dmesg'));
    expect(f.map((x) => x.kind)).toEqual(['module_error', 'module_error', 'module_error', 'module_error', 'module_error', 'module_error', 'probe_failed']);
    expect(f.slice(0, 6).every((x) => x.modules.includes('visl'))).toBe(true);
    // An unknown parameter is ignored by the kernel (the module loads): a warning, not a failure.
    expect(f[4]!.line).toBe("visl: unknown parameter 'no_such_param' ignored");
    expect(f[4]!.severity).toBe('warning');
    expect(f[3]!.severity).toBe('error');
    expect(describeFinding(f[1]!)).toBe('module_error @55.101s: visl: Unknown symbol video_device_release (err -22) [modules: visl]');
  });

  it('a clean module load has no failures', () => {
    expect(failures(classify(fixture('clean-load.dmesg')))).toEqual([]);
    expect(kinds('clean-load.dmesg')).toEqual(['taint', 'taint']);
  });
});

describe('slices between markers', () => {
  it('cuts the log between two markers (per vector)', () => {
    const lines = fixture('x86-null-deref-visl.dmesg');
    const s = sliceBetween(lines, '5f2a9c01be77', '77aa00bb11cc');
    expect(s.markerFound).toBe(true);
    expect(s.lines[0]!.text).toMatch(/^BUG: kernel NULL/);
    expect(s.lines.at(-1)!.text).toBe('RIP: 0010:visl_device_run+0x54/0x3b0 [visl]');
    expect(failures(s.findings).map((x) => x.kind)).toEqual(['bug']);
    // The taint lines before the first marker are not in the slice.
    expect(s.findings.some((x) => x.kind === 'taint')).toBe(false);
    // After the second marker: nothing.
    expect(sliceBetween(lines, '77aa00bb11cc').lines).toEqual([]);
  });
  it('reports a lost marker (ring buffer wrapped) and falls back to the whole log', () => {
    const lines = fixture('hung-task.dmesg');
    const s = sliceBetween(lines, 'ffffffffffff');
    expect(s.markerFound).toBe(false);
    expect(s.lines).toHaveLength(lines.length);
    expect(findMarker(lines, 'ffffffffffff')).toBe(-1);
  });
});
