import { classify, findMarker, parseKernelLog, type KernelLogFinding } from '../irq/kernelLog.ts';
import { loadScript } from '../target/scripts.ts';
import type { Target } from '../target/types.ts';
import { parseLines, runPhase, sysName } from './remote.ts';
import type { DriverBinding } from './types.ts';

/**
 * Post-load checks in one remote command: each module's
 * /sys/module/NAME/initstate and srcversion, the drivers it registered
 * (/sys/module/NAME/drivers/BUS:DRIVER) and the devices bound to them, every
 * device's modalias (to see whether the board has a device the module
 * should drive), and the kernel log (`dmesg -r`) to slice after the
 * deploy's marker.
 */
const VERIFY = loadScript(import.meta.url, 'verify.sh');

/** What one module looks like after loading. */
export interface ModuleCheck {
  name: string;
  /** `live` when loaded and initialised. */
  state: string;
  srcversion?: string;
  binding: DriverBinding;
}

/** Result of {@link verifyModules}. */
export interface VerifyResult {
  modules: ModuleCheck[];
  /** Kernel log findings after the marker. */
  findings: KernelLogFinding[];
  /** The kernel log lines after the marker (messages only), oldest first. */
  kernelLog: string[];
  markerFound: boolean;
}

/** fnmatch-style match of a module alias pattern against a device modalias. */
export function aliasMatches(pattern: string, modalias: string): boolean {
  let re = '^';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$').test(modalias);
}

/**
 * Reads module state, driver binding and the kernel log after `markerId`.
 * @param aliases per module, its alias patterns from the local .modinfo.
 */
export async function verifyModules(
  target: Target,
  modules: { name: string; aliases: string[] }[],
  markerId: string,
  opts: { journal?: string; timeoutMs?: number } = {},
): Promise<VerifyResult> {
  const names = modules.map((m) => sysName(m.name));
  const r = await runPhase(target, VERIFY, names, opts);
  const [head, log = ''] = r.stdout.split('@@kernel-log\n');
  const checks = new Map<string, ModuleCheck>(
    names.map((n) => [n, { name: n, state: 'absent', binding: { module: n, drivers: [], bound: [], unboundMatches: [] } }]),
  );
  const devices: [string, string][] = [];
  for (const [k, f] of parseLines(head ?? '')) {
    const c = f[0] !== undefined ? checks.get(f[0]) : undefined;
    if (k === 'state' && c) c.state = f[1] ?? 'absent';
    else if (k === 'srcversion' && c && f[1]) c.srcversion = f[1];
    else if (k === 'driver' && c) c.binding.drivers.push(f[1]!);
    else if (k === 'bound' && c) c.binding.bound.push(f[2]!);
    else if (k === 'modalias' && f[0]) {
      // grep -H output: /sys/bus/BUS/devices/DEV/modalias:ALIAS (DEV and ALIAS may hold ':')
      const i = f[0].indexOf('/modalias:');
      if (i > 0) devices.push([f[0].slice(0, i).split('/').pop()!, f[0].slice(i + '/modalias:'.length)]);
    }
  }
  for (const m of modules) {
    const c = checks.get(sysName(m.name))!;
    const matching = devices.filter(([, a]) => m.aliases.some((p) => aliasMatches(p, a))).map(([d]) => d);
    c.binding.unboundMatches = [...new Set(matching.filter((d) => !c.binding.bound.includes(d)))];
  }
  const lines = parseKernelLog(log);
  const i = findMarker(lines, markerId);
  const slice = i >= 0 ? lines.slice(i + 1) : lines;
  return { modules: [...checks.values()], findings: classify(slice), kernelLog: slice.map((l) => l.text), markerFound: i >= 0 };
}
