/**
 * index.html: one self-contained page per run (inline CSS and JS, images as
 * data: URIs read from the report folder, a Content-Security-Policy that
 * forbids any network load). Every string from the record goes through
 * {@link esc}; the script never builds markup.
 */
import { extname } from 'node:path';
import type { RunRecord, VectorResult, KernelLogFinding } from '../../model/record.ts';
import { IRQ_BITS } from '../../model/irq.ts';
import { VERDICTS, flusterResultName } from '../../model/verdict.ts';
import { formatDuration, verdictLine } from '../summarize.ts';
import { checksBanner } from '../markdown.ts';
import type { RunDiff } from '../diff.ts';
import { CSS, SCRIPT } from './assets.ts';
import { esc } from './escape.ts';
import { registersBlock } from './registers.ts';

export { esc };

/** Options of {@link htmlReport}. */
export interface HtmlOptions {
  /** Reads a file of the report folder (path relative to it); undefined when absent. */
  readArtifact?: (relPath: string) => Buffer | undefined;
  /** Diff against the previous run on the same board. */
  diff?: RunDiff;
  /** Stop embedding images past this many bytes in total (then they are linked). Default 48 MiB. */
  maxEmbedBytes?: number;
}

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

function badge(result: string): string {
  return `<span class="v v-${esc(result)}">${esc(result)}</span>`;
}

function kv(pairs: [string, string | undefined][]): string {
  return `<dl class="kv">${pairs
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>`;
}

function findingsList(fs: readonly KernelLogFinding[]): string {
  if (!fs.length) return '<p class="muted">none</p>';
  return `<table><thead><tr><th>severity</th><th>kind</th><th>where</th><th>line</th></tr></thead><tbody>${fs
    .map((f) => `<tr><td>${esc(f.severity)}</td><td>${esc(f.kind)}</td><td>${esc(f.vector ?? f.stage ?? '')}</td><td class="mono">${esc(f.line)}</td></tr>`)
    .join('')}</tbody></table>`;
}

/** Renders a run record as the self-contained index.html text. */
export function htmlReport(r: RunRecord, opts: HtmlOptions = {}): string {
  let budget = opts.maxEmbedBytes ?? 48 * 1024 * 1024;
  const image = (path: string, alt: string): string => {
    const type = IMAGE_TYPES[extname(path).toLowerCase()];
    const data = type ? opts.readArtifact?.(path) : undefined;
    if (type && data && data.length <= budget) {
      budget -= data.length;
      return `<img alt="${esc(alt)}" src="data:${type};base64,${data.toString('base64')}">`;
    }
    return `<a href="${esc(encodeURI(path))}">${esc(path)}</a>${data ? '' : ' <span class="muted">(missing)</span>'}`;
  };

  const c = r.counts;
  const features = [...new Set(r.vectors.flatMap((v) => v.features))].sort();
  const parts: string[] = [];
  parts.push(`<h1>vp9-workbench run ${esc(r.runId)}</h1>`);
  if (r.status === 'incomplete') parts.push(`<div class="banner bad">INCOMPLETE run: ${esc(r.incompleteReason ?? 'the run did not finish')}</div>`);
  parts.push(`<div id="checks-banner" class="banner ${r.checks.pixelsVerified ? 'ok' : 'warn'}">${esc(checksBanner(r))}</div>`);
  parts.push(
    `<p class="counts">${VERDICTS.map((v) => `<span>${badge(v)} ${c[v]}</span>`).join('')}${
      c.notRun ? `<span>${badge('not-run')} ${c.notRun}</span>` : ''
    }<span class="muted">of ${c.total} planned; exit code ${r.exitCode}; ${esc(formatDuration(r.durationMs))}</span></p>`,
  );

  parts.push('<h2>Run</h2>');
  parts.push(
    kv([
      ['started', r.startedAt],
      ['command', r.command],
      ['board', r.board ? `${r.board.name} (${r.board.kind}), kernel ${r.board.kernelRelease}` : undefined],
      ['decoder device', r.board ? [r.board.device.driver, r.board.device.media, r.board.device.video].filter(Boolean).join(' ') : undefined],
      [
        'kernel base',
        r.kernel
          ? `${r.kernel.manifest}${r.kernel.baseCommit ? ` base-commit ${r.kernel.baseCommit}` : ''}${r.kernel.baseVersion ? ` (${r.kernel.baseVersion})` : ''}`
          : undefined,
      ],
      [
        'series',
        r.kernel
          ? `${r.kernel.series.patches.length} patch(es), hash ${r.kernel.series.hash}${r.kernel.series.changeId ? `, change-id ${r.kernel.series.changeId}` : ''}`
          : undefined,
      ],
      ...(r.kernel?.series.patches ?? []).map((p): [string, string] => ['  patch', `${p.file}${p.subject ? ` — ${p.subject}` : ''}`]),
      ...(r.kernel?.modules ?? []).map((m): [string, string] => [`module ${m.name}`, `sha256 ${m.sha256}, ${m.size} bytes, vermagic ${m.vermagic}`]),
      ['decoder', r.decoder ? `${r.decoder.name} ${r.decoder.version}${r.decoder.detail ? ` (${r.decoder.detail})` : ''}` : undefined],
      ['reference', r.reference ? `${r.reference.name} ${r.reference.version}` : undefined],
      ['suite', `${r.suite.name}${r.suite.filter ? ` filter ${r.suite.filter}` : ''}`],
      ['workbench', `${r.workbench.version}${r.workbench.gitCommit ? ` ${r.workbench.gitCommit}${r.workbench.gitDirty ? ' (dirty)' : ''}` : ''}`],
      ['previous run', r.previousRunId],
    ]),
  );

  if (opts.diff) {
    const d = opts.diff;
    parts.push(`<h2>Compared with ${esc(d.base)}</h2><ul>`);
    if (!d.newFailures.length && !d.fixes.length && !d.changedFirstBadFrame.length && !d.otherChanges.length)
      parts.push(`<li class="muted">no change in verdicts (${d.unchanged} unchanged)</li>`);
    for (const x of d.newFailures) parts.push(`<li><b>new failure</b> ${esc(x.vector)}: ${esc(x.before ?? 'absent')} → ${badge(x.after)}</li>`);
    for (const x of d.fixes) parts.push(`<li><b>fixed</b> ${esc(x.vector)}: ${esc(x.before ?? '')} → ${badge(x.after)}</li>`);
    for (const x of d.changedFirstBadFrame) parts.push(`<li>first bad frame of ${esc(x.vector)}: ${x.before} → ${x.after}</li>`);
    for (const x of d.otherChanges) parts.push(`<li>changed ${esc(x.vector)}: ${esc(x.before ?? 'absent')} → ${badge(x.after)}</li>`);
    parts.push('</ul>');
  }

  parts.push('<h2>Stages</h2><table><thead><tr><th>stage</th><th>status</th><th>time</th><th>detail</th></tr></thead><tbody>');
  for (const s of r.stages)
    parts.push(
      `<tr><td>${esc(s.name)}</td><td>${esc(s.status)}</td><td>${esc(formatDuration(s.durationMs))}</td><td>${esc(
        s.error ? `${s.error.code}: ${s.error.message}${s.error.hint ? ` (hint: ${s.error.hint})` : ''}` : (s.detail ?? ''),
      )}</td></tr>`,
    );
  parts.push('</tbody></table>');

  parts.push(`<h2>Results</h2>`);
  parts.push(
    `<div class="filters"><span>verdict:</span>${VERDICTS.map(
      (v) => `<label><input type="checkbox" name="verdict" value="${v}" checked> ${badge(v)} (${c[v]})</label>`,
    ).join('')}${c.notRun ? `<label><input type="checkbox" name="verdict" value="not-run" checked> ${badge('not-run')} (${c.notRun})</label>` : ''}
<label>feature: <select id="feature"><option value="">all</option>${features.map((f) => `<option value="${esc(f)}">${esc(f)}</option>`).join('')}</select></label>
<label>name: <input id="search" type="search" placeholder="vector name"></label>
<button type="button" id="only-failures">failures only</button><button type="button" id="show-all">show all</button>
<span class="muted"><span id="shown">${r.vectors.length + c.notRun}</span> shown</span></div>`,
  );
  parts.push(
    '<table id="results"><thead><tr><th>vector</th><th>verdict</th><th>detail</th><th>checks</th><th>features</th><th>MD5 (Fluster result)</th><th>time</th></tr></thead><tbody>',
  );
  r.vectors.forEach((v, i) => parts.push(vectorRows(v, i, image, opts.readArtifact)));
  const done = new Set(r.vectors.map((v) => v.name));
  for (const n of r.suite.vectors.filter((n) => !done.has(n)))
    parts.push(
      `<tr class="vec" data-verdict="not-run" data-name="${esc(n)}" data-features=""><td>${esc(n)}</td><td>${badge('not-run')}</td><td class="muted" colspan="5">not run</td></tr>`,
    );
  parts.push('</tbody></table>');
  parts.push(`<p class="muted">Fluster names: ${VERDICTS.map((v) => `${esc(v)} = ${esc(flusterResultName(v))}`).join(', ')}.</p>`);

  parts.push(irqSection(r));
  const diags = r.diagnostics ?? [];
  parts.push(`<h2>Build and static-check diagnostics</h2>`);
  if (!diags.length) parts.push('<p class="muted">none</p>');
  else
    parts.push(
      `<table><thead><tr><th>severity</th><th>tool</th><th>where</th><th>message</th><th>patch</th></tr></thead><tbody>${diags
        .map(
          (d) =>
            `<tr><td>${esc(d.severity)}</td><td>${esc(d.tool)}</td><td class="mono">${esc(`${d.file ?? ''}${d.line !== undefined ? `:${d.line}` : ''}${d.column !== undefined ? `:${d.column}` : ''}`)}</td><td class="mono">${esc(d.message)}</td><td>${esc(d.patch ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table>`,
    );
  parts.push('<h2>Kernel log findings</h2>');
  parts.push(findingsList([...r.kernelLog, ...r.vectors.flatMap((v) => v.kernelLog)]));
  parts.push('<h2>Reproduce</h2>');
  for (const s of r.stages.filter((s) => s.commands.length)) parts.push(`<h3>${esc(s.name)}</h3><pre>${esc(s.commands.join('\n'))}</pre>`);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vp9-workbench ${esc(r.runId)}: ${c.pass}/${c.total} pass</title>
<style>${CSS}</style></head>
<body>
${parts.join('\n')}
<script>${SCRIPT}</script>
</body></html>
`;
}

function vectorRows(v: VectorResult, i: number, image: (p: string, alt: string) => string, read: HtmlOptions['readArtifact']): string {
  const d = v.verdict;
  const checks = d.checks.map((c) => `<span class="chk-${esc(c.status)}" title="${esc(c.detail ?? '')}">${esc(c.check)}:${esc(c.status)}</span>`).join(' ');
  const row = `<tr class="vec" data-verdict="${esc(d.result)}" data-name="${esc(v.name)}" data-features="${esc(v.features.join(' '))}" data-detail="d${i}">
<td>${esc(v.name)}</td><td>${badge(d.result)}</td><td>${esc(verdictLine(v))}</td><td class="mono">${checks}</td><td>${esc(v.features.join(', '))}</td><td class="mono">${
    v.md5.actual
      ? esc(v.md5.actual) + (v.md5.expected && v.md5.expected !== v.md5.actual ? `<br><span class="muted">expected ${esc(v.md5.expected)}</span>` : '')
      : v.md5.expected
        ? `<span class="muted" title="not computed on this board">expected ${esc(v.md5.expected)}</span>`
        : '-'
  }</td><td>${esc(formatDuration(v.durationMs))}</td></tr>`;
  const imgs = v.artifacts.filter((a) => a.kind === 'decoded' || a.kind === 'reference' || a.kind === 'diff');
  const others = v.artifacts.filter((a) => !imgs.includes(a));
  const body = [
    kv([
      ['checks', d.checks.map((c) => `${c.check}: ${c.status}${c.detail && c.detail !== 'not run' ? ` (${c.detail})` : ''}`).join('; ')],
      [
        'frames',
        d.framesExpected !== undefined || d.framesProduced !== undefined
          ? `expected ${d.framesExpected ?? '-'}, produced ${d.framesProduced ?? '-'}`
          : undefined,
      ],
      ['MD5 expected', v.md5.expected ?? undefined],
      ['MD5 actual', v.md5.actual ?? undefined],
      ['device', v.device ? [v.device.driver, v.device.media, v.device.video].filter(Boolean).join(' ') : undefined],
      ['reproduce', v.command],
    ]),
    v.header ? `<pre>${esc(v.header)}</pre>` : '',
    imgs.length
      ? `<div class="imgs">${imgs
          .map(
            (a) =>
              `<figure>${image(a.path, `${v.name} ${a.kind}`)}<figcaption>${esc(a.kind)}${a.frame !== undefined ? ` frame ${a.frame}` : ''}${a.description ? ` — ${esc(a.description)}` : ''}</figcaption></figure>`,
          )
          .join('')}</div>`
      : '',
    others.length ? `<ul>${others.map((a) => `<li><a href="${esc(encodeURI(a.path))}">${esc(a.path)}</a> ${esc(a.kind)}</li>`).join('')}</ul>` : '',
    v.irq
      ? `<p>IRQ: ${v.irq.jobs} job(s), ${v.irq.vp9Jobs} VP9; status words: <span class="mono">${v.irq.statuses.map((s) => `${esc(s.status)}×${s.count}`).join(' ')}</span></p>`
      : '',
    registersBlock(v, read),
    v.kernelLog.length ? findingsList(v.kernelLog) : '',
  ].join('');
  return `${row}\n<tr class="detail" id="d${i}"><td colspan="7"><details${d.result !== 'pass' ? ' open' : ''}><summary>details</summary>${body}</details></td></tr>`;
}

function irqSection(r: RunRecord): string {
  const q = r.irq;
  const out = [
    `<h2>IRQ status (0x380)</h2>`,
    `<div id="irq-answer" class="banner ${q.answer === 'yes' ? 'ok' : 'warn'}">${esc(q.question)} <b>${esc(q.answer)}</b>. ${esc(q.explanation)}</div>`,
    q.simulated ? `<div id="irq-simulated" class="banner warn">${esc(q.simulated.line)}</div>` : '',
  ];
  const withIrq = r.vectors.filter((v) => v.irq);
  if (!withIrq.length) return out.join('') + `<p class="muted">No per-vector IRQ data${q.reason ? `: ${esc(q.reason)}` : ''}.</p>`;
  out.push(`<table><thead><tr><th>vector</th><th>jobs</th>${IRQ_BITS.map((b) => `<th>${esc(b)}</th>`).join('')}</tr></thead><tbody>`);
  out.push(`<tr><td><b>all</b></td><td>${q.jobs}</td>${IRQ_BITS.map((b) => `<td><b>${q.bits[b]}</b></td>`).join('')}</tr>`);
  for (const v of withIrq) out.push(`<tr><td>${esc(v.name)}</td><td>${v.irq!.jobs}</td>${IRQ_BITS.map((b) => `<td>${v.irq!.bits[b]}</td>`).join('')}</tr>`);
  out.push('</tbody></table>');
  return out.join('');
}
