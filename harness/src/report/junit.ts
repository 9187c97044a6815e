/**
 * junit.xml laid out like Fluster's `-f junitxml` output, so CI dashboards and
 * KernelCI's Fluster-to-LAVA conversion read it unchanged
 * (Fluster's `run -f junitxml`, https://github.com/fluendo/fluster):
 *
 * - root `<testsuites>`; one `<testsuite name="<suite>">` per suite+decoder
 *   with a `decoder` property (as Fluster writes it);
 * - one `<testcase name="<vector>">` per vector;
 * - fail and timeout -> `<failure>` (Fluster maps Timeout to Failure too),
 *   error and crash -> `<error>`, not-supported and not-run -> `<skipped>`.
 *
 * Valid against the Jenkins JUnit schema (junit-10.xsd, checked in a test).
 */
import { create } from 'xmlbuilder2';
import type { RunRecord, VectorResult } from '../model/record.ts';
import { checksRan, checksNotRun } from '../model/verdict.ts';
import { redact } from '../core/events.ts';
import { verdictLine } from './summarize.ts';

/** Removes characters XML 1.0 cannot carry (C0 controls except tab/LF/CR, lone surrogates, U+FFFE/F). */
export function xmlSafe(s: string): string {
  return redact(s).replace(
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
}

/** Seconds with millisecond precision, as JUnit's `time` wants it. */
function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function decoderName(r: RunRecord): string {
  return r.decoder ? (r.decoder.detail ? `${r.decoder.name}:${r.decoder.detail}` : r.decoder.name) : 'unknown-decoder';
}

/** Details of one vector for `<system-out>`: checks, MD5s, frames, IRQ, kernel log. */
function vectorDetails(v: VectorResult): string {
  const lines = [
    `verdict: ${v.verdict.result}: ${verdictLine(v)}`,
    `checks ran: ${checksRan(v.verdict).join(', ') || 'none'}`,
    `checks not run: ${checksNotRun(v.verdict).join(', ') || 'none'}`,
    ...v.verdict.checks.filter((c) => c.detail).map((c) => `  ${c.check} ${c.status}: ${c.detail}`),
    `md5 expected: ${v.md5.expected ?? '-'}  actual: ${v.md5.actual ?? '-'}`,
  ];
  if (v.verdict.framesExpected !== undefined || v.verdict.framesProduced !== undefined)
    lines.push(`frames expected: ${v.verdict.framesExpected ?? '-'}  produced: ${v.verdict.framesProduced ?? '-'}`);
  if (v.irq) lines.push(`irq: ${v.irq.jobs} jobs, statuses ${v.irq.statuses.map((s) => `${s.status}x${s.count}`).join(' ')}`);
  for (const f of v.kernelLog) lines.push(`kernel log [${f.severity}] ${f.kind}: ${f.line}`);
  if (v.command) lines.push(`reproduce: ${v.command}`);
  return lines.join('\n');
}

/**
 * The junit.xml text of a run record. `not run` vectors (planned, never
 * decoded because the run stopped) appear as skipped test cases.
 */
export function junitXml(r: RunRecord): string {
  const dec = decoderName(r);
  const suites = new Map<string, { results: VectorResult[]; notRun: string[] }>();
  const ensure = (name: string) => {
    let s = suites.get(name);
    if (!s) suites.set(name, (s = { results: [], notRun: [] }));
    return s;
  };
  ensure(r.suite.name);
  for (const v of r.vectors) ensure(v.suite).results.push(v);
  const done = new Set(r.vectors.map((v) => v.name));
  for (const name of r.suite.vectors) if (!done.has(name)) ensure(r.suite.name).notRun.push(name);

  let tTests = 0;
  let tFail = 0;
  let tErr = 0;
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: xmlSafe(`vp9-workbench ${r.runId}`),
  });
  for (const [suiteName, s] of suites) {
    const failures = s.results.filter((v) => v.verdict.result === 'fail' || v.verdict.result === 'timeout').length;
    const errors = s.results.filter((v) => v.verdict.result === 'error' || v.verdict.result === 'crash').length;
    const skipped = s.results.filter((v) => v.verdict.result === 'not-supported').length + s.notRun.length;
    const tests = s.results.length + s.notRun.length;
    tTests += tests;
    tFail += failures;
    tErr += errors;
    const ts = root.ele('testsuite', {
      name: xmlSafe(suiteName),
      tests: String(tests),
      failures: String(failures),
      errors: String(errors),
      skipped: String(skipped),
      time: seconds(s.results.reduce((a, v) => a + v.durationMs, 0)),
      timestamp: r.startedAt,
      ...(r.board ? { hostname: xmlSafe(r.board.name) } : {}),
    });
    const props = ts.ele('properties');
    const prop = (name: string, value: string | undefined) => {
      if (value !== undefined) props.ele('property', { name, value: xmlSafe(value) });
    };
    prop('decoder', dec);
    prop('run-id', r.runId);
    prop('run-status', r.status);
    prop('board', r.board?.name);
    prop('kernel-release', r.board?.kernelRelease);
    prop('device-driver', r.board?.device.driver);
    prop('kernel-manifest', r.kernel?.manifest);
    prop('base-commit', r.kernel?.baseCommit ?? undefined);
    prop('series-hash', r.kernel?.series.hash);
    prop('reference', r.reference ? `${r.reference.name} ${r.reference.version}` : undefined);
    prop('checks-ran', r.checks.ran.join(','));
    prop('pixels-verified', String(r.checks.pixelsVerified));
    const classname = xmlSafe(`${suiteName}.${dec}`);
    for (const v of s.results) {
      const tc = ts.ele('testcase', { name: xmlSafe(v.name), classname, time: seconds(v.durationMs) });
      const msg = xmlSafe(`${v.verdict.result.toUpperCase()}: ${verdictLine(v)}`);
      switch (v.verdict.result) {
        case 'fail':
        case 'timeout':
          tc.ele('failure', { type: v.verdict.result, message: msg }).txt(xmlSafe(vectorDetails(v)));
          break;
        case 'error':
        case 'crash':
          tc.ele('error', { type: v.verdict.result, message: msg }).txt(xmlSafe(vectorDetails(v)));
          break;
        case 'not-supported':
          tc.ele('skipped', { type: 'not-supported', message: xmlSafe(v.verdict.reason) });
          break;
        case 'pass':
          break;
      }
      tc.ele('system-out').txt(xmlSafe(vectorDetails(v)));
    }
    for (const name of s.notRun) {
      ts.ele('testcase', { name: xmlSafe(name), classname, time: '0.000' }).ele('skipped', {
        type: 'not-run',
        message: xmlSafe(`not run: ${r.incompleteReason ?? 'the run stopped before this vector'}`),
      });
    }
  }
  root.att({ tests: String(tTests), failures: String(tFail), errors: String(tErr), time: seconds(r.durationMs) });
  return root.end({ prettyPrint: true }) + '\n';
}
