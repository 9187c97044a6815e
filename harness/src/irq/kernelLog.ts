import { randomBytes } from 'node:crypto';
import type { Target } from '../target/types.ts';

/**
 * Kernel log capture and classification.
 *
 * The workbench writes marker lines into the kernel log through /dev/kmsg
 * (`WORKBENCH-MARK <id> <label>`), reads the log back (`dmesg -r`) and cuts
 * it into slices between markers (per stage, per vector). Each slice is
 * classified into findings: oops, BUG, WARN, panic, hung task, soft lockup,
 * RCU stall, rkvdec watchdog timeout, IOMMU fault, module load errors, probe
 * failures, and (informational) taint notices.
 *
 * Message texts come from the kernel sources: kernel/panic.c (`__warn`, both
 * the `WARNING: CPU: n PID: n at` form and the newer `WARNING: file:line at
 * sym, CPU#n: comm/pid` form), arch/x86/kernel/dumpstack.c and
 * arch/arm64/kernel/traps.c + mm/fault.c (Oops), lib/bug.c (`kernel BUG at`),
 * kernel/hung_task.c (`INFO: task %s:%d blocked for more than %ld seconds.`),
 * kernel/watchdog.c (soft lockup), kernel/rcu/tree_stall.h,
 * drivers/media/platform/rockchip/rkvdec/rkvdec.c (watchdog: dev_err
 * "Frame processing timed out!"), drivers/iommu/rockchip-iommu.c ("Page
 * fault at %pad of type %s", "BUS_ERROR occurred at %pad"),
 * drivers/iommu/arm/arm-smmu*, drivers/iommu/intel/dmar.c, amd/iommu.c, and
 * kernel/module/main.c + version.c (module loader errors).
 */

/** Marker prefix written to /dev/kmsg. */
export const MARKER_PREFIX = 'WORKBENCH-MARK';

/** One kernel log record. */
export interface KernelLogLine {
  /** Log level 0 (emerg) .. 7 (debug), when the format carries it. */
  level?: number;
  /** Syslog facility (0 kernel, 1 user: what /dev/kmsg writes get). */
  facility?: number;
  /** Seconds since boot, when printed. */
  time?: number;
  /** The message without prefixes. */
  text: string;
}

/** What a finding is. */
export type FindingKind =
  | 'panic'
  | 'oops'
  | 'bug'
  | 'warn'
  | 'hung_task'
  | 'soft_lockup'
  | 'rcu_stall'
  | 'rkvdec_timeout'
  | 'codec_timeout'
  | 'iommu_fault'
  | 'module_error'
  | 'probe_failed'
  | 'taint';

/** `error` fails a deploy/vector; `warning` is reported; `info` is noted only. */
export type Severity = 'error' | 'warning' | 'info';

/** One classified event in the kernel log. */
export interface KernelLogFinding {
  kind: FindingKind;
  severity: Severity;
  /** The line that identified it. */
  line: string;
  /** Seconds since boot. */
  time?: number;
  /** Following lines that belong to it (registers, call trace), at most 60. */
  context: string[];
  /** Modules named by the line prefix or in the call trace (`[visl]`). */
  modules: string[];
}

interface Rule {
  kind: FindingKind;
  severity: Severity;
  re: RegExp;
  /** Collect following lines until the end of a trace. */
  trace?: boolean;
}

/** Classification rules, first match wins (order matters: soft lockup before BUG). */
const RULES: Rule[] = [
  { kind: 'panic', severity: 'error', re: /^Kernel panic - not syncing/, trace: true },
  { kind: 'soft_lockup', severity: 'error', re: /BUG: soft lockup - CPU#\d+ stuck for/, trace: true },
  { kind: 'rcu_stall', severity: 'error', re: /rcu: INFO: rcu_\w+ (detected stalls|self-detected stall)/, trace: true },
  { kind: 'hung_task', severity: 'error', re: /^INFO: task .+:\d+ blocked for more than \d+ seconds/, trace: true },
  {
    kind: 'oops',
    severity: 'error',
    re: /^(Oops: |Internal error: Oops|Unable to handle kernel (NULL pointer dereference|paging request|execute from non-executable|access to user memory)|general protection fault)/,
    trace: true,
  },
  { kind: 'bug', severity: 'error', re: /^(BUG: |kernel BUG at )/, trace: true },
  { kind: 'warn', severity: 'error', re: /^WARNING: (CPU: \d+ PID: \d+ at |\S+:\d+ at |at )/, trace: true },
  { kind: 'rkvdec_timeout', severity: 'error', re: /^rkvdec\b.*Frame processing timed out!/ },
  { kind: 'codec_timeout', severity: 'error', re: /frame processing timed out!?/i },
  {
    kind: 'iommu_fault',
    severity: 'error',
    re: /(rk_iommu\b.*(Page fault at|BUS_ERROR occurred at|Page fault while iommu not attached))|Unhandled context fault|arm-smmu(-v3)?\b.*event 0x[0-9a-f]+ received|DMAR: \[DMA (Read|Write)|IO_PAGE_FAULT|iommu fault|IOMMU page fault/i,
  },
  {
    kind: 'module_error',
    severity: 'error',
    re: /disagrees about version of symbol|Unknown symbol \S+ \(err|version magic '[^']*' should be|Invalid ELF header|invalid module format|section size must match the kernel's built struct module|Unknown parameter `|`[^']*' invalid for parameter `|module has bad taint|Module len \d+ truncated|no symbol version for|Skipping invalid relocation|module PLT section|Exec format error/i,
  },
  // kernel/module/main.c unknown_module_param_cb: the module still loads.
  { kind: 'module_error', severity: 'warning', re: /: unknown parameter '[^']*' ignored$/ },
  { kind: 'probe_failed', severity: 'error', re: /probe (of \S+ )?failed with error -?\d+|probe with driver \S+ failed with error -?\d+/ },
  {
    kind: 'taint',
    severity: 'info',
    re: /loading out-of-tree module taints kernel|module verification failed: signature and\/or required key missing - tainting kernel|module is from the staging directory|taints kernel\.?$/,
  },
];

/** Lines that end a trace block (kernel/panic.c print_oops_end_marker, etc.). */
const TRACE_END = /^---\[ end (trace|Kernel panic)/;

const RE_OOPS_LINE = /^(Oops: |Internal error: Oops)/;
const RE_KMSG_RECORD = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/;
const RE_PRIO = /^<(\d+)>/;
const RE_TIME = /^\[\s*(\d+\.\d+)\]/;
const RE_CALLER = /^\[\s*[TC]\d+\]/;

/**
 * Parses kernel log text in any of the forms the workbench meets:
 * `dmesg -r` (`<12>[  1.234567] msg`), plain `dmesg` / serial console
 * (`[  1.234567] msg`, also with a `[T123]` caller id), /dev/kmsg records
 * (`6,1234,5678901,-;msg`, continuation lines starting with a space are
 * dictionary entries and dropped), or bare messages.
 */
export function parseKernelLog(text: string): KernelLogLine[] {
  const out: KernelLogLine[] = [];
  for (let raw of text.split('\n')) {
    raw = raw.replace(/\r$/, '');
    if (raw === '') continue;
    const rec = RE_KMSG_RECORD.exec(raw);
    if (rec) {
      const prio = Number(rec[1]);
      out.push({ level: prio & 7, facility: prio >> 3, time: Number(rec[3]) / 1e6, text: rec[4]! });
      continue;
    }
    if (/^ [A-Z]+=/.test(raw)) continue; // /dev/kmsg dictionary line
    const line: KernelLogLine = { text: raw };
    let rest = raw;
    const p = RE_PRIO.exec(rest);
    if (p) {
      const prio = Number(p[1]);
      line.level = prio & 7;
      line.facility = prio >> 3;
      rest = rest.slice(p[0].length);
    }
    const t = RE_TIME.exec(rest);
    if (t) {
      line.time = Number(t[1]);
      rest = rest.slice(t[0].length);
      const c = RE_CALLER.exec(rest);
      if (c) rest = rest.slice(c[0].length);
      rest = rest.replace(/^ /, '');
    }
    line.text = rest;
    out.push(line);
  }
  return out;
}

function modulesIn(headline: string, context: string[]): string[] {
  const mods = new Set<string>();
  const pre =
    /^([A-Za-z0-9_-]+): (Unknown symbol|disagrees about|version magic|Unknown parameter|unknown parameter|`[^']*' invalid for parameter|\.gnu\.linkonce)/.exec(
      headline,
    );
  if (pre) mods.add(pre[1]!.replace(/-/g, '_'));
  const mod2 = /^module ([A-Za-z0-9_-]+): /.exec(headline);
  if (mod2) mods.add(mod2[1]!.replace(/-/g, '_'));
  for (const l of [headline, ...context]) {
    for (const m of l.matchAll(/\+0x[0-9a-f]+\/0x[0-9a-f]+ \[([A-Za-z0-9_]+)\]/g)) mods.add(m[1]!);
  }
  return [...mods];
}

/**
 * Classifies parsed kernel log lines into findings. A trace-type finding
 * (oops, BUG, WARN, hung task...) takes the following lines as context
 * until `---[ end trace`, the next headline, or 60 lines. The `Oops:` line
 * that completes a report (x86 `BUG: kernel NULL pointer dereference` then
 * `Oops: ...`; arm64 `Unable to handle kernel ...` then `Internal error:
 * Oops`) belongs to that report and is not a finding of its own.
 */
export function classify(lines: KernelLogLine[]): KernelLogFinding[] {
  const findings: KernelLogFinding[] = [];
  const consumed = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.text.startsWith(MARKER_PREFIX) || consumed.has(i)) continue;
    const rule = RULES.find((r) => r.re.test(l.text));
    if (!rule) continue;
    const context: string[] = [];
    if (rule.trace) {
      for (let j = i + 1; j < lines.length && context.length < 60; j++) {
        const t = lines[j]!.text;
        if (t.startsWith(MARKER_PREFIX)) break;
        // A new trace headline ends this block, except the Oops that completes a BUG/page fault report.
        const continuesReport = (rule.kind === 'bug' || rule.kind === 'oops') && RE_OOPS_LINE.test(t);
        if (!continuesReport && RULES.some((r) => r.trace && r.re.test(t))) break;
        if (continuesReport) consumed.add(j);
        context.push(t);
        if (TRACE_END.test(t)) break;
      }
    } else if (rule.kind === 'iommu_fault') {
      // rockchip-iommu's log_iova lines follow the fault line.
      for (let j = i + 1; j < lines.length && context.length < 4 && /iova = |mmu_dte_addr|pte@|dte@|page_offset/.test(lines[j]!.text); j++) {
        context.push(lines[j]!.text);
      }
    }
    findings.push({
      kind: rule.kind,
      severity: rule.severity,
      line: l.text,
      ...(l.time !== undefined ? { time: l.time } : {}),
      context,
      modules: modulesIn(l.text, context),
    });
  }
  return findings;
}

/** Findings that fail a deploy or a vector (severity `error`). */
export function failures(findings: readonly KernelLogFinding[]): KernelLogFinding[] {
  return findings.filter((f) => f.severity === 'error');
}

/** One-line summary per finding, e.g. `warn: WARNING: CPU: 1 PID: 42 at ... [visl]`. */
export function describeFinding(f: KernelLogFinding): string {
  return `${f.kind}${f.time !== undefined ? ` @${f.time.toFixed(3)}s` : ''}: ${f.line}${f.modules.length ? ` [modules: ${f.modules.join(', ')}]` : ''}`;
}

/** A marker written into the kernel log. */
export interface KernelLogMarker {
  /** Unique id (random hex). */
  id: string;
  label: string;
  /** The full marker line. */
  text: string;
}

/** Index of the marker line in `lines`, or -1. */
export function findMarker(lines: readonly KernelLogLine[], markerId: string): number {
  const needle = `${MARKER_PREFIX} ${markerId}`;
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.text.startsWith(needle)) return i;
  return -1;
}

/** Result of a slice: the lines after `start` (and before `end` when given). */
export interface KernelLogSlice {
  lines: KernelLogLine[];
  findings: KernelLogFinding[];
  /** False when the start marker is gone (ring buffer wrapped or cleared): the slice is then the whole readable log. */
  markerFound: boolean;
}

/**
 * Lines strictly between the marker `startId` and the marker `endId`
 * (or the end of the log), classified.
 */
export function sliceBetween(lines: readonly KernelLogLine[], startId: string, endId?: string): KernelLogSlice {
  const s = findMarker(lines, startId);
  const e = endId ? findMarker(lines, endId) : -1;
  const from = s >= 0 ? s + 1 : 0;
  const to = e > from ? e : lines.length;
  const slice = lines.slice(from, to);
  return { lines: slice, findings: classify(slice), markerFound: s >= 0 };
}

/**
 * Writes a marker line into the board's kernel log via /dev/kmsg.
 * @param label free text (stage or vector name); control characters are dropped.
 */
export async function writeMarker(target: Target, label: string): Promise<KernelLogMarker> {
  const id = randomBytes(6).toString('hex');
  const safe = label.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);
  const text = `${MARKER_PREFIX} ${id} ${safe}`;
  await target.exec(['sh', '-c', 'printf "%s\\n" "$1" > /dev/kmsg', 'wb-mark', text]);
  return { id, label: safe, text };
}

/** Reads the board's whole kernel log (`dmesg -r`, falling back to plain `dmesg`). */
export async function readKernelLog(target: Target): Promise<KernelLogLine[]> {
  const r = await target.exec(['sh', '-c', 'dmesg -r 2>/dev/null || dmesg'], { timeoutMs: 30_000 });
  return parseKernelLog(r.stdout);
}

/** Reads the log and returns the slice after `marker` (to now), classified. */
export async function kernelLogSince(target: Target, marker: KernelLogMarker | string): Promise<KernelLogSlice> {
  return sliceBetween(await readKernelLog(target), typeof marker === 'string' ? marker : marker.id);
}
