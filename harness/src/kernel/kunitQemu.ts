import { readFile, rm } from 'node:fs/promises';
import { requireTools } from '../core/hostTools.ts';
import type { Runner } from '../core/runner.ts';

/**
 * Kernel command line of the KUnit kernel: run the built-in suites at boot
 * (`kunit.enable=1`), console on the first serial port (the x86_64 KUnit
 * config enables SERIAL_8250_CONSOLE: tools/testing/kunit/qemu_configs/x86_64.py),
 * reboot when done (`kunit_shutdown=reboot`, which with `-no-reboot` ends
 * QEMU), and reboot at once on a panic instead of hanging until the timeout.
 */
export const KUNIT_CMDLINE: readonly string[] = ['kunit.enable=1', 'console=ttyS0', 'kunit_shutdown=reboot', 'panic=-1'];

/** What {@link kunitQemuArgv} needs. */
export interface KunitQemuSpec {
  /** Host path of the bzImage. */
  kernel: string;
  /** Host file the serial console is written to. */
  serialLog: string;
  /** `tcg` (default) or `kvm` (`WORKBENCH_KUNIT_ACCEL=kvm`; /dev/kvm exists on some hosts where KVM guests die). */
  accel?: 'tcg' | 'kvm';
  /** Guest memory, MiB (default 1024, as kunit.py). */
  memoryMiB?: number;
}

/**
 * argv of the host QEMU that runs the KUnit kernel: no disk, no network,
 * no display (`-nographic`), serial console to a file, monitor off,
 * `-no-reboot` so the kernel's reboot after the tests ends QEMU.
 */
export function kunitQemuArgv(s: KunitQemuSpec): string[] {
  const accel = s.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg'];
  return [
    'qemu-system-x86_64',
    ...accel,
    '-m',
    String(s.memoryMiB ?? 1024),
    '-smp',
    '1',
    '-nodefaults',
    '-nographic',
    '-kernel',
    s.kernel,
    '-append',
    KUNIT_CMDLINE.join(' '),
    '-serial',
    `file:${s.serialLog}`,
    '-monitor',
    'none',
    '-no-reboot',
  ];
}

/** One boot of the KUnit kernel. */
export interface KunitBoot {
  argv: string[];
  /** QEMU's exit code (-1 when killed by the timeout). */
  exitCode: number;
  timedOut: boolean;
  /** The serial console text (CR removed). */
  console: string;
  /** Host path of the serial console log. */
  serialLog: string;
  /** QEMU's own stderr. */
  stderr: string;
  durationMs: number;
}

/**
 * Boots the KUnit kernel with the host's qemu-system-x86_64 and returns the
 * console text. Never throws for a kernel that fails or hangs: the caller
 * judges the console (a QEMU that cannot start shows as no KTAP plus stderr).
 *
 * @throws WorkbenchError E_TOOL_MISSING when qemu-system-x86_64 is absent.
 */
export async function bootKunitKernel(
  runner: Runner,
  o: { kernel: string; serialLog: string; timeoutMs: number; log?: (m: string) => void; accel?: 'tcg' | 'kvm' },
): Promise<KunitBoot> {
  requireTools(['qemu-system-x86_64']);
  const envAccel = process.env.WORKBENCH_KUNIT_ACCEL;
  const accel = o.accel ?? (envAccel === 'kvm' ? 'kvm' : 'tcg');
  const argv = kunitQemuArgv({ kernel: o.kernel, serialLog: o.serialLog, accel });
  await rm(o.serialLog, { force: true });
  o.log?.(`booting the KUnit kernel in QEMU (${accel}, limit ${Math.round(o.timeoutMs / 1000)} s); console: ${o.serialLog}`);
  const r = await runner.run(argv, { allowFailure: true, timeoutMs: o.timeoutMs, input: '' });
  const text = await readFile(o.serialLog, 'utf8').catch(() => '');
  return {
    argv,
    exitCode: r.exitCode,
    timedOut: r.timedOut,
    console: text.replace(/\r/g, ''),
    serialLog: o.serialLog,
    stderr: r.stderr,
    durationMs: r.durationMs,
  };
}
