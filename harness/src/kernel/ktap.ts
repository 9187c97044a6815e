/**
 * KTAP (Kernel Test Anything Protocol) parser, written for the output KUnit
 * prints on the console. Format per the kernel's
 * Documentation/dev-tools/ktap.rst (version 1): version lines (`KTAP version
 * 1`, `TAP version 13|14`), plan lines (`1..N`), result lines (`ok|not ok N
 * [description][ # [directive] [data]]`), diagnostic lines (`# ...`) and
 * unknown lines (any other kernel output). Nested tests are indented (two
 * spaces per the spec; KUnit prints four) and start with their own version
 * line; KUnit also prints `# Subtest: <name>` (TAP14 style) after it.
 */

/** Outcome of one test. `crashed`: started but no result line (the kernel died or hung). */
export type KtapStatus = 'passed' | 'failed' | 'skipped' | 'crashed';

/** One test (a KUnit suite, case or parameter). */
export interface KtapTest {
  name: string;
  /** Number on its result line (0 for a crashed test that printed none). */
  number: number;
  status: KtapStatus;
  /** Directive after `#` (`SKIP`, `TIMEOUT`, `ERROR`, ...), upper-case. */
  directive?: string;
  /** Text after the directive on the result line. */
  reason?: string;
  /** Diagnostic and unknown lines printed for this test (before its result line), without indentation. */
  log: string[];
  /** Subtests (a suite's cases). */
  subtests: KtapTest[];
  /** Number of subtests its plan announced. */
  plan?: number;
}

/** Counts of leaf tests (tests without subtests). */
export interface KtapTotals {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  crashed: number;
}

/** A parsed KTAP run. */
export interface KtapRun {
  /** A version line was found. */
  found: boolean;
  /** The version line as printed (`KTAP version 1`). */
  version?: string;
  /** Top-level tests (KUnit: one per suite). */
  tests: KtapTest[];
  /** Top-level plan. */
  plan?: number;
  /** Every started test ended with a result line and every plan was met. */
  complete: boolean;
  /** `Bail out!` seen. */
  bailedOut: boolean;
  totals: KtapTotals;
  /** Problems with the structure (missing results, plan not met), for a person. */
  problems: string[];
}

interface Group {
  indent: number;
  name?: string;
  plan?: number;
  children: KtapTest[];
  /** Lines since the last result line at this level. */
  pending: string[];
  /** Lines printed before this group's plan (module: ..., Subtest: ...). */
  header: string[];
}

const VERSION_RE = /^(KTAP version \d+|TAP version \d+)\s*$/;
const PLAN_RE = /^1\.\.(\d+)\s*$/;
const RESULT_RE = /^(ok|not ok)\s+(\d+)(?:\s+-)?(?:\s+([^#]*?))?\s*(?:#\s*(.*))?$/;
const SUBTEST_RE = /^#\s*Subtest:\s*(.*?)\s*$/;
/** printk timestamp (`[    1.234567] `), optionally with a caller id (`[T1]`). */
const TIME_PREFIX_RE = /^\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])?\s?/;

function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === ' ') n++;
    else if (ch === '\t') n += 8 - (n % 8);
    else break;
  }
  return n;
}

function newGroup(indent: number): Group {
  return { indent, children: [], pending: [], header: [] };
}

/** Status from the result word and the directive (SKIP wins over ok/not ok, per ktap.rst). */
function statusOf(word: string, directive: string | undefined): KtapStatus {
  if (directive === 'SKIP') return 'skipped';
  return word === 'ok' ? 'passed' : 'failed';
}

/**
 * Parses KTAP out of a console log. Lines before the first version line are
 * ignored; a printk timestamp prefix is removed when the version line carries
 * one. Parsing ends when the top-level plan is met (later console lines such
 * as `reboot: Restarting system` are not part of it). A test whose result
 * line never came (kernel crash, hang, timeout) is `crashed`, with the
 * subtests it reported; tests of a plan that never started are counted in
 * `problems`, not invented.
 */
export function parseKtap(text: string): KtapRun {
  const lines = text.replace(/\r/g, '').split('\n');
  let start = -1;
  let stripTime = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const noTime = raw.replace(TIME_PREFIX_RE, '');
    if (VERSION_RE.test(noTime.trim())) {
      start = i;
      stripTime = noTime !== raw;
      break;
    }
  }
  const empty: KtapTotals = { total: 0, passed: 0, failed: 0, skipped: 0, crashed: 0 };
  if (start < 0) return { found: false, tests: [], complete: false, bailedOut: false, totals: empty, problems: ['no KTAP version line'] };
  const problems: string[] = [];
  const first = stripTime ? lines[start]!.replace(TIME_PREFIX_RE, '') : lines[start]!;
  const version = first.trim();
  const stack: Group[] = [newGroup(indentOf(first))];
  let bailedOut = false;
  let done = false;
  /** Closes every group deeper than `indent`; returns the last one closed (the subtests of the coming result line). */
  const closeDeeper = (indent: number): Group | undefined => {
    let closed: Group | undefined;
    while (stack.length > 1 && stack[stack.length - 1]!.indent > indent) {
      const g = stack.pop()!;
      if (closed) {
        // A deeper group closed without its own result line: it crashed.
        g.children.push(crashedTest(closed, problems));
      }
      closed = g;
    }
    return closed;
  };
  for (let i = start + 1; i < lines.length && !done; i++) {
    const line = stripTime ? lines[i]!.replace(TIME_PREFIX_RE, '') : lines[i]!;
    if (!line.trim()) continue;
    const indent = indentOf(line);
    const body = line.trim();
    const top = stack[stack.length - 1]!;
    let m: RegExpExecArray | null;
    if (VERSION_RE.test(body)) {
      if (indent > top.indent) stack.push(newGroup(indent));
      continue;
    }
    if ((m = SUBTEST_RE.exec(body))) {
      if (indent > top.indent) stack.push({ ...newGroup(indent), name: m[1]! });
      else if (indent === top.indent && top.name === undefined && top.plan === undefined) top.name = m[1]!;
      else top.pending.push(body);
      continue;
    }
    if ((m = PLAN_RE.exec(body))) {
      if (indent > top.indent) stack.push(newGroup(indent));
      const g = stack[stack.length - 1]!;
      if (g.plan === undefined && g.children.length === 0) {
        g.plan = Number(m[1]);
        g.header.push(...g.pending);
        g.pending = [];
      } else g.pending.push(body);
      continue;
    }
    if ((m = RESULT_RE.exec(body))) {
      if (indent > top.indent) stack.push(newGroup(indent));
      const sub = closeDeeper(indent);
      const g = stack[stack.length - 1]!;
      const after = (m[4] ?? '').trim();
      const dm = /^(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b\s*(.*)$/i.exec(after);
      const directive = dm ? dm[1]!.toUpperCase() : undefined;
      const reason = dm ? dm[2]!.trim() : after;
      const t: KtapTest = {
        name: (m[3] ?? '').trim() || sub?.name || `test ${m[2]}`,
        number: Number(m[2]),
        status: statusOf(m[1]!, directive),
        ...(directive ? { directive } : {}),
        ...(reason ? { reason } : {}),
        log: [...(sub ? [...sub.header, ...sub.pending] : []), ...g.pending],
        subtests: sub?.children ?? [],
        ...(sub?.plan !== undefined ? { plan: sub.plan } : {}),
      };
      if (sub?.plan !== undefined && sub.children.length < sub.plan) {
        problems.push(`${t.name}: plan 1..${sub.plan} but ${sub.children.length} result(s)`);
      }
      if (t.status === 'passed' && t.subtests.some((s) => s.status === 'failed' || s.status === 'crashed')) t.status = 'failed';
      g.pending = [];
      g.children.push(t);
      if (stack.length === 1 && g.plan !== undefined && g.children.length >= g.plan) done = true;
      continue;
    }
    if (/^Bail out!/.test(body)) {
      bailedOut = true;
      problems.push(`bail out: ${body}`);
      done = true;
      continue;
    }
    // Diagnostic or unknown line: belongs to the innermost open test.
    top.pending.push(line.slice(Math.min(indent, top.indent)));
  }
  // Whatever is still open never got a result line.
  const rest = closeDeeper(-1);
  const root = stack[0]!;
  if (rest) root.children.push(crashedTest(rest, problems));
  if (root.plan !== undefined && root.children.length < root.plan) {
    problems.push(`top-level plan 1..${root.plan} but ${root.children.length} result(s)`);
  }
  const totals = countLeaves(root.children);
  const complete = !bailedOut && problems.length === 0;
  return { found: true, version, tests: root.children, ...(root.plan !== undefined ? { plan: root.plan } : {}), complete, bailedOut, totals, problems };
}

function crashedTest(g: Group, problems: string[]): KtapTest {
  const name = g.name ?? '(unnamed test)';
  problems.push(`${name}: no result line (the kernel crashed or hung inside it)`);
  return { name, number: 0, status: 'crashed', log: [...g.header, ...g.pending], subtests: g.children, ...(g.plan !== undefined ? { plan: g.plan } : {}) };
}

/** Counts leaf tests by status (a suite counts through its cases). */
export function countLeaves(tests: KtapTest[]): KtapTotals {
  const t: KtapTotals = { total: 0, passed: 0, failed: 0, skipped: 0, crashed: 0 };
  const walk = (xs: KtapTest[]) => {
    for (const x of xs) {
      if (x.subtests.length) {
        walk(x.subtests);
        if (x.status === 'crashed') {
          // The case that was running when the kernel died printed no result: count it once.
          t.total++;
          t.crashed++;
        }
        continue;
      }
      t.total++;
      t[x.status]++;
    }
  };
  walk(tests);
  return t;
}

const DIVIDER_WIDTH = 60;

/** `===== message =====` centred in 60 columns, as kunit.py's parser prints it (kunit_parser.py format_test_divider). */
export function divider(message: string): string {
  const diff = Math.max(0, DIVIDER_WIDTH - message.length - 2);
  const a = Math.floor(diff / 2);
  return `${'='.repeat(a)} ${message} ${'='.repeat(diff - a)}`;
}

const LABEL: Record<KtapStatus, string> = { passed: '[PASSED]', failed: '[FAILED]', skipped: '[SKIPPED]', crashed: '[CRASHED]' };

/**
 * A summary in the shape kunit.py prints: per suite a header with the
 * number of subtests, one `[PASSED]`/`[FAILED]`/`[SKIPPED]`/`[CRASHED]` line
 * per test (the test's log lines before a failed or crashed one), the
 * suite's result, then `Testing complete. Ran N tests: passed: P, failed: F...`.
 */
export function formatKtapSummary(run: KtapRun): string[] {
  const out: string[] = [];
  const line = (t: KtapTest, depth: number) => {
    const pad = '  '.repeat(depth);
    if (t.subtests.length) {
      out.push(pad + divider(`${t.name} (${t.subtests.length} subtests)`));
      // A suite's own log only explains a failure its cases do not (suite init/exit failed, crash).
      const explained = t.subtests.some((s) => s.status === 'failed' || s.status === 'crashed');
      if ((t.status === 'failed' && !explained) || t.status === 'crashed') for (const l of suiteLog(t)) out.push(`${pad}    ${l}`);
      for (const s of t.subtests) line(s, depth);
      out.push(pad + divider(`${LABEL[t.status]} ${t.name}`));
      return;
    }
    if (t.status === 'failed' || t.status === 'crashed') for (const l of t.log) out.push(`${pad}    ${l}`);
    out.push(`${pad}${LABEL[t.status]} ${t.name}${t.status === 'skipped' && t.reason ? ` (${t.reason})` : ''}`);
  };
  for (const t of run.tests) line(t, 0);
  out.push('='.repeat(DIVIDER_WIDTH));
  for (const p of run.problems) out.push(`problem: ${p}`);
  const c = run.totals;
  const parts = [`passed: ${c.passed}`];
  if (c.failed) parts.push(`failed: ${c.failed}`);
  if (c.crashed) parts.push(`crashed: ${c.crashed}`);
  if (c.skipped) parts.push(`skipped: ${c.skipped}`);
  out.push(`Testing complete. Ran ${c.total} tests: ${parts.join(', ')}`);
  return out;
}

/** A suite's own log without KUnit's per-suite count lines (`# name: pass:N ...`, `# Totals: ...`). */
function suiteLog(t: KtapTest): string[] {
  return t.log.filter((l) => !/^#\s*(Totals|[^:]+): pass:\d+ fail:\d+/.test(l.trim()));
}
