/**
 * summary.md: the run in a page of Markdown (for a terminal, a merge request
 * comment, or the cover letter's test notes).
 */
import type { RunRecord, VectorResult } from '../model/record.ts';
import { captureLine, formatDuration, verdictLine } from './summarize.ts';
import { VERDICTS, flusterResultName } from '../model/verdict.ts';
import type { RunDiff } from './diff.ts';
import { redact } from '../core/events.ts';

/** Escapes text for a Markdown table cell (pipes, newlines, HTML, emphasis markers). */
export function mdCell(s: string): string {
  return redact(s)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_`[\]])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

/** Markdown text of inline code (a fence long enough for backticks inside). */
function code(s: string): string {
  const t = redact(s).replace(/\r?\n/g, ' ');
  const runs = t.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  return `${fence}${t.startsWith('`') || t.endsWith('`') ? ' ' + t + ' ' : t}${fence}`;
}

/** The plain-words banner every report starts with: which checks ran, and whether pixels were verified. */
export function checksBanner(r: RunRecord): string {
  const ran = r.checks.ran.length ? r.checks.ran.join(', ') : 'none';
  const notRun = r.checks.notRun.map((c) => `${c.check} (${c.reason})`).join('; ');
  const pixels = r.checks.pixelsVerified
    ? 'Decoded pixels were compared with the libvpx reference frame by frame.'
    : `Pixels were NOT verified${r.board && !r.board.pixelsDecoded ? ` on ${r.board.device.driver}` : ''}: ` +
      'this run checks what the driver received and produced, not the decoded image.';
  return `Checks that ran: ${ran}.${notRun ? ` Not run: ${notRun}.` : ''} ${pixels}`;
}

function row(v: VectorResult): string {
  return `| ${mdCell(v.name)} | ${v.verdict.result} | ${mdCell(verdictLine(v))} | ${v.verdict.checks
    .filter((c) => c.status !== 'not-run')
    .map((c) => `${c.check}:${c.status}`)
    .join(' ')} | ${v.md5.actual ?? (v.md5.expected ? `expected ${v.md5.expected}` : '-')} | ${formatDuration(v.durationMs)} |`;
}

/** summary.md for a run; `diff` (against the previous run on the board) is appended when given. */
export function summaryMarkdown(r: RunRecord, diff?: RunDiff): string {
  const c = r.counts;
  const out: string[] = [];
  out.push(`# vp9-workbench run ${r.runId}`, '');
  if (r.status === 'incomplete') out.push(`**INCOMPLETE**: ${mdCell(r.incompleteReason ?? 'the run did not finish')}`, '');
  out.push(`> ${mdCell(checksBanner(r))}`, '');
  out.push(
    `- Result: ${c.pass} pass, ${c.fail} fail, ${c.timeout} timeout, ${c.error} error, ${c['not-supported']} not supported, ${c.crash} crash` +
      (c.notRun ? `, ${c.notRun} not run` : '') +
      ` (of ${c.total}); exit code ${r.exitCode}`,
  );
  out.push(`- Started ${r.startedAt}, took ${formatDuration(r.durationMs)}`);
  if (r.board)
    out.push(
      `- Board: ${mdCell(r.board.name)} (${r.board.kind}), kernel ${mdCell(r.board.kernelRelease)}, driver ${mdCell(r.board.device.driver)}${r.board.device.media ? ` on ${mdCell(r.board.device.media)}` : ''}`,
    );
  if (r.kernel) {
    out.push(
      `- Kernel base: ${mdCell(r.kernel.manifest)}${r.kernel.baseCommit ? `, base-commit ${r.kernel.baseCommit}` : ''}${r.kernel.baseVersion ? `, ${mdCell(r.kernel.baseVersion)}` : ''}`,
    );
    out.push(
      `- Series: ${r.kernel.series.patches.length} patch(es), hash ${r.kernel.series.hash.slice(0, 16)}${r.kernel.series.changeId ? `, change-id ${mdCell(r.kernel.series.changeId)}` : ''}`,
    );
    for (const m of r.kernel.modules) out.push(`- Module ${mdCell(m.name)}: sha256 ${m.sha256}, vermagic ${code(m.vermagic)}`);
  }
  if (r.decoder) out.push(`- Decoder: ${mdCell(r.decoder.name)} ${mdCell(r.decoder.version)}${r.decoder.detail ? ` (${mdCell(r.decoder.detail)})` : ''}`);
  if (r.reference) out.push(`- Reference: ${mdCell(r.reference.name)} ${mdCell(r.reference.version)}`);
  out.push(`- Suite: ${mdCell(r.suite.name)}${r.suite.filter ? ` (filter ${code(r.suite.filter)})` : ''}`);
  out.push(`- IRQ: ${mdCell(r.irq.question)} **${r.irq.answer}**. ${mdCell(r.irq.explanation)}`);
  if (r.irq.simulated) out.push(`- IRQ (simulated device): ${mdCell(r.irq.simulated.line)}`);
  out.push('');

  out.push('## Stages', '', '| stage | status | time | detail |', '|---|---|---|---|');
  for (const s of r.stages)
    out.push(
      `| ${mdCell(s.name)} | ${s.status} | ${formatDuration(s.durationMs)} | ${mdCell(s.error ? `${s.error.code}: ${s.error.message}` : (s.detail ?? ''))} |`,
    );
  out.push('');

  if (diff) {
    out.push(`## Compared with ${mdCell(diff.base)}`, '');
    if (!diff.newFailures.length && !diff.fixes.length && !diff.changedFirstBadFrame.length) out.push('No change in verdicts.');
    for (const x of diff.newFailures) out.push(`- NEW FAILURE ${mdCell(x.vector)}: ${x.before ?? 'absent'} -> ${x.after}`);
    for (const x of diff.fixes) out.push(`- FIXED ${mdCell(x.vector)}: ${x.before} -> ${x.after}`);
    for (const x of diff.changedFirstBadFrame) out.push(`- first bad frame of ${mdCell(x.vector)}: ${x.before} -> ${x.after}`);
    out.push('');
  }

  out.push('## Vectors', '');
  // failures first (stable sort keeps run order inside each group)
  const vs = [...r.vectors].sort((a, b) => Number(a.verdict.result === 'pass') - Number(b.verdict.result === 'pass'));
  out.push('| vector | verdict | detail | checks | md5 (Fluster result) | time |', '|---|---|---|---|---|---|');
  for (const v of vs) out.push(row(v));
  if (r.counts.notRun) {
    const done = new Set(r.vectors.map((v) => v.name));
    for (const n of r.suite.vectors.filter((n) => !done.has(n))) out.push(`| ${mdCell(n)} | not run | | | - | - |`);
  }
  out.push('');
  out.push(`Fluster names: ${VERDICTS.map((v) => `${v} = ${flusterResultName(v)}`).join(', ')}.`, '');
  const captured = r.vectors.filter((v) => v.captures);
  if (captured.length) {
    out.push('## Register captures', '', '| vector | jobs / frames / status / IRQ latency | capture |', '|---|---|---|');
    for (const v of captured)
      out.push(`| ${mdCell(v.name)} | ${mdCell(captureLine(v.captures!))} | ${v.captures!.download ? mdCell(v.captures!.download) : '-'} |`);
    out.push('');
  }

  if (r.diagnostics?.length) {
    out.push('## Build and static-check diagnostics', '');
    for (const d of r.diagnostics)
      out.push(
        `- ${d.severity} (${mdCell(d.tool)}) ${d.file ? code(`${d.file}${d.line !== undefined ? `:${d.line}` : ''}`) + ': ' : ''}${mdCell(d.message)}${d.patch ? ` [${mdCell(d.patch)}]` : ''}`,
      );
    out.push('');
  }
  const findings = [...r.kernelLog, ...r.vectors.flatMap((v) => v.kernelLog)];
  if (findings.length) {
    out.push('## Kernel log', '');
    for (const f of findings)
      out.push(`- [${f.severity}] ${mdCell(f.kind)}${f.vector ? ` (${mdCell(f.vector)})` : f.stage ? ` (${mdCell(f.stage)})` : ''}: ${mdCell(f.line)}`);
    out.push('');
  }
  out.push('## Reproduce', '');
  for (const s of r.stages.filter((s) => s.commands.length)) {
    out.push(`${mdCell(s.name)}:`, '', '```sh', ...s.commands.map((c) => redact(c).replace(/```/g, '` ` `')), '```', '');
  }
  return out.join('\n');
}
