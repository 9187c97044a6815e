/**
 * The nightly index `reports/nightly/index.html`: one self-contained page
 * over every night kept under `reports/nightly/<id>/nightly.json`
 * (farm/nightly.ts), written again after each night.
 *
 * - History: per board, one stacked bar per night of the KCIDB statuses of
 *   its vectors (PASS = pass; FAIL = fail + crash; ERROR = timeout + error;
 *   SKIP = not-supported; the same mapping as the KCIDB export,
 *   {@link kcidbStatus}), drawn as inline SVG by this file; a night where
 *   the board could not run is a hatched bar marked "not run".
 * - Per night (newest first): each board's health, counts, a link to its
 *   run report (`../<run-id>/index.html`), to the LAVA job (its page on a
 *   server, or the local lava-run job id), the kernel, and the diff against
 *   its previous night (new failures, fixes, changed first bad frames,
 *   other verdict changes, output hashes, IRQ statuses, vectors no longer
 *   run); links to the night's nightly.json, summary.txt and kcidb.json
 *   with the schema's verdict on it.
 *
 * Every string from the records goes through the run report's {@link esc};
 * links are built only from run ids that match the run-id pattern and
 * from http(s) job URLs. The page loads nothing (Content-Security-Policy
 * `default-src 'none'`) and has no script.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunIdSchema, type Counts } from '../model/record.ts';
import { VERDICTS } from '../model/verdict.ts';
import { diffIsEmpty, type RunDiff } from '../report/diff.ts';
import { CSS, esc } from '../report/htmlKit.ts';
import { kcidbStatus } from './kcidb.ts';
import { listNights, nightlyRoot, type NightlyEntry, type NightlyKernel, type NightlyRecord } from './nightlyRecord.ts';

/** The statuses a history bar stacks, bottom to top. */
export const HISTORY_STATUSES = ['PASS', 'FAIL', 'ERROR', 'SKIP'] as const;
type HistoryStatus = (typeof HISTORY_STATUSES)[number];

/** One board in one night: vector counts per KCIDB status, or not run. */
export interface HistoryPoint {
  nightlyId: string;
  startedAt: string;
  /** Counts per status (vectors); absent when the board could not be run or collected. */
  counts?: Record<HistoryStatus, number>;
  /** The night's exit code for this board (0, 1, 2). */
  exitCode: 0 | 1 | 2;
}

/** Vector counts of a run per KCIDB status; `notRun` vectors are left out (a collected job counts never-reported vectors as fail already). */
export function statusCounts(c: Counts): Record<HistoryStatus, number> {
  const out: Record<HistoryStatus, number> = { PASS: 0, FAIL: 0, ERROR: 0, SKIP: 0 };
  for (const v of VERDICTS) out[kcidbStatus(v)] += c[v];
  return out;
}

/**
 * Each board's history, oldest night first, over the nights given (any
 * order). A board appears from the first night that lists it; a night that
 * does not list a board has no point for it.
 */
export function boardHistory(nights: readonly NightlyRecord[]): Map<string, HistoryPoint[]> {
  const out = new Map<string, HistoryPoint[]>();
  const sorted = [...nights].sort((a, b) => a.nightlyId.localeCompare(b.nightlyId));
  for (const n of sorted)
    for (const e of n.boards) {
      const list = out.get(e.board) ?? [];
      list.push({ nightlyId: n.nightlyId, startedAt: n.startedAt, exitCode: e.exitCode, ...(e.counts ? { counts: statusCounts(e.counts) } : {}) });
      out.set(e.board, list);
    }
  return out;
}

const COLOURS: Record<HistoryStatus, string> = { PASS: '#1a7f37', FAIL: '#cf222e', ERROR: '#8250df', SKIP: '#8c959f' };

/** Geometry of the history plot, pixels. */
const PLOT = { bar: 34, gap: 14, height: 140, left: 40, top: 12, bottom: 46, right: 16 };

/** `2026-12-03 00:40` (UTC) of an ISO time; the raw text when it is not one. */
function shortTime(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** Element id of a night's section. */
function nightAnchor(id: string): string {
  return `night-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * The history plot of one board: an SVG of stacked bars, one per night
 * (oldest left), y = number of vectors, each segment titled with its count;
 * a bar links to the night's section.
 */
export function historySvg(board: string, points: readonly HistoryPoint[]): string {
  const max = Math.max(1, ...points.map((p) => (p.counts ? HISTORY_STATUSES.reduce((s, k) => s + p.counts![k], 0) : 0)));
  const w = PLOT.left + points.length * (PLOT.bar + PLOT.gap) + PLOT.right;
  const h = PLOT.top + PLOT.height + PLOT.bottom;
  const y = (v: number) => PLOT.top + PLOT.height - (v / max) * PLOT.height;
  const parts: string[] = [];
  parts.push(
    `<svg class="history" role="img" aria-label="${esc(`history of ${board}: vectors per status per night`)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg">`,
  );
  parts.push(
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eaeef2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#afb8c1" stroke-width="3"/></pattern></defs>`,
  );
  // y axis: 0, half, max
  for (const t of [...new Set([0, Math.round(max / 2), max])]) {
    parts.push(`<line x1="${PLOT.left - 4}" x2="${w - PLOT.right}" y1="${y(t)}" y2="${y(t)}" stroke="#d1d9e0" stroke-width="1"/>`);
    parts.push(`<text x="${PLOT.left - 8}" y="${y(t) + 4}" text-anchor="end" font-size="11" fill="#59636e">${t}</text>`);
  }
  points.forEach((p, i) => {
    const x = PLOT.left + PLOT.gap / 2 + i * (PLOT.bar + PLOT.gap);
    const seg: string[] = [];
    if (p.counts) {
      let base = 0;
      for (const k of HISTORY_STATUSES) {
        const n = p.counts[k];
        if (!n) continue;
        seg.push(
          `<rect class="seg seg-${k}" data-status="${k}" data-count="${n}" x="${x}" y="${y(base + n)}" width="${PLOT.bar}" height="${y(base) - y(base + n)}" fill="${COLOURS[k]}"><title>${esc(`${shortTime(p.startedAt)}: ${n} ${k}`)}</title></rect>`,
        );
        if (y(base) - y(base + n) >= 13)
          seg.push(`<text x="${x + PLOT.bar / 2}" y="${(y(base) + y(base + n)) / 2 + 4}" text-anchor="middle" font-size="11" fill="#fff">${n}</text>`);
        base += n;
      }
    } else {
      seg.push(
        `<rect class="seg seg-not-run" x="${x}" y="${PLOT.top}" width="${PLOT.bar}" height="${PLOT.height}" fill="url(#hatch)"><title>${esc(`${shortTime(p.startedAt)}: not run`)}</title></rect>`,
        `<text x="${x + PLOT.bar / 2}" y="${PLOT.top + PLOT.height / 2}" text-anchor="middle" font-size="9" fill="#1f2328">not run</text>`,
      );
    }
    const [day, time] = shortTime(p.startedAt).split(' ');
    seg.push(
      `<text x="${x + PLOT.bar / 2}" y="${PLOT.top + PLOT.height + 16}" text-anchor="middle" font-size="10" fill="#1f2328">${esc(day?.slice(5) ?? '')}</text>`,
    );
    seg.push(`<text x="${x + PLOT.bar / 2}" y="${PLOT.top + PLOT.height + 29}" text-anchor="middle" font-size="10" fill="#59636e">${esc(time ?? '')}</text>`);
    seg.push(
      `<text x="${x + PLOT.bar / 2}" y="${PLOT.top + PLOT.height + 42}" text-anchor="middle" font-size="10" fill="${p.exitCode === 0 ? COLOURS.PASS : p.exitCode === 1 ? COLOURS.FAIL : COLOURS.ERROR}">exit ${p.exitCode}</text>`,
    );
    parts.push(`<a class="bar" href="#${esc(nightAnchor(p.nightlyId))}" data-night="${esc(p.nightlyId)}">${seg.join('')}</a>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function legend(): string {
  return `<p class="legend">${HISTORY_STATUSES.map(
    (k) => `<span><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${COLOURS[k]}"/></svg> ${k}</span>`,
  ).join(
    '',
  )}<span class="muted">PASS pass; FAIL fail or crash; ERROR timeout or error; SKIP stream not supported (the KCIDB statuses of the vectors)</span></p>`;
}

/** A link to a run report, only for a run id of the run-id pattern (else the id as text). */
function runLink(runId: string | undefined): string {
  if (!runId) return '<span class="muted">none</span>';
  if (!RunIdSchema.safeParse(runId).success) return esc(runId);
  return `<a class="run-link" href="../${esc(encodeURIComponent(runId))}/index.html">${esc(runId)}</a>`;
}

/** The LAVA job: a link to its page (http/https only), or its id. */
function jobLink(e: NightlyEntry): string {
  if (e.jobUrl) {
    let ok = false;
    try {
      const u = new URL(e.jobUrl);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    const label = `job ${e.jobId ?? ''}`.trim();
    return ok ? `<a class="job-link" href="${esc(e.jobUrl)}">${esc(label)}</a>` : `${esc(label)} <span class="mono">${esc(e.jobUrl)}</span>`;
  }
  return e.jobId !== undefined ? `${esc(`job ${e.jobId}`)} <span class="muted">(${esc(e.via)}: no job page)</span>` : '<span class="muted">none</span>';
}

function kernelLine(k: NightlyKernel | undefined): string {
  return k ? `base ${k.baseCommit.slice(0, 12)}, series ${k.seriesCommit.slice(0, 12)} (${k.patches} patches)` : 'modules given as files';
}

function countsCell(e: NightlyEntry): string {
  if (!e.counts) return '<span class="muted">-</span>';
  const s = statusCounts(e.counts);
  return `${HISTORY_STATUSES.map((k) => `<span class="cnt" style="color:${COLOURS[k]}">${s[k]} ${k}</span>`).join(' ')} <span class="muted">of ${e.counts.total}</span>`;
}

/** The diff of a board against its previous night, as list items. */
function diffList(d: RunDiff): string {
  const li: string[] = [];
  for (const x of d.newFailures) li.push(`<li class="d-new"><b>new failure</b> ${esc(x.vector)}: ${esc(x.before ?? 'absent')} → ${esc(x.after)}</li>`);
  for (const x of d.fixes) li.push(`<li class="d-fixed"><b>fixed</b> ${esc(x.vector)}: ${esc(x.before ?? '')} → ${esc(x.after)}</li>`);
  for (const x of d.changedFirstBadFrame)
    li.push(`<li class="d-frame"><b>first bad frame</b> ${esc(x.vector)}: frame ${esc(x.before)} → frame ${esc(x.after)}</li>`);
  for (const x of d.otherChanges) li.push(`<li class="d-changed"><b>changed</b> ${esc(x.vector)}: ${esc(x.before ?? 'absent')} → ${esc(x.after)}</li>`);
  for (const x of d.changedHashes)
    li.push(`<li class="d-hash"><b>output MD5</b> ${esc(x.vector)}: <span class="mono">${esc(x.before)} → ${esc(x.after)}</span></li>`);
  for (const x of d.changedIrq)
    li.push(
      `<li class="d-irq"><b>IRQ status</b> ${esc(x.vector)}: <span class="mono">${esc(x.before.join(' ') || 'none')} → ${esc(x.after.join(' ') || 'none')}</span></li>`,
    );
  for (const x of d.missing) li.push(`<li class="d-missing"><b>not run</b> ${esc(x)} (was in the previous night)</li>`);
  if (diffIsEmpty(d)) li.push(`<li class="muted">no change (${d.unchanged} vectors with the same verdict)</li>`);
  else li.push(`<li class="muted">${d.unchanged} vector(s) with the same verdict</li>`);
  return `<ul class="diff">${li.join('')}</ul>`;
}

function boardBlock(e: NightlyEntry): string {
  const health = e.error ? `<span class="v v-error">not run</span> ${esc(e.error)}` : esc(e.health ?? '?');
  const rows = [
    `<tr><th>board</th><td class="board-name">${esc(e.board)} <span class="muted">(${esc(e.profile)} via ${esc(e.via)})</span></td></tr>`,
    `<tr><th>result</th><td>${health}; exit ${e.exitCode}</td></tr>`,
    `<tr><th>vectors</th><td>${countsCell(e)}</td></tr>`,
    `<tr><th>run report</th><td>${runLink(e.runId)}</td></tr>`,
    `<tr><th>LAVA job</th><td>${jobLink(e)}</td></tr>`,
    `<tr><th>kernel</th><td>${e.error && !e.kernel ? '<span class="muted">-</span>' : `${esc(e.kernelRelease ?? '?')}: ${esc(kernelLine(e.kernel))}`}</td></tr>`,
  ];
  let diff: string;
  if (e.previous && e.diff)
    diff = `<p>Compared with ${runLink(e.previous.runId)} of <a href="#${esc(nightAnchor(e.previous.nightlyId))}">${esc(e.previous.nightlyId)}</a> (${esc(kernelLine(e.previous.kernel))}):</p>${diffList(e.diff)}`;
  else diff = `<p class="muted">${e.error ? 'not run: nothing to compare' : 'no earlier night for this board: nothing to compare'}</p>`;
  return `<div class="board" data-board="${esc(e.board)}"><table class="kvt"><tbody>${rows.join('')}</tbody></table>${diff}</div>`;
}

function nightSection(n: NightlyRecord): string {
  const id = encodeURIComponent(n.nightlyId);
  const kc = n.kcidb;
  const kcidb = kc
    ? `<a href="${esc(id)}/${esc(kc.file)}">${esc(kc.file)}</a> (KCIDB v5.3, ${kc.tests} tests): ${
        kc.valid === true
          ? '<span class="chk-pass">valid</span>'
          : kc.valid === false
            ? `<span class="chk-fail">refused by the schema</span> <span class="mono">${esc(kc.errors.join('; '))}</span>`
            : `<span class="muted">not validated: ${esc(kc.errors.join('; '))}</span>`
      }${kc.submitted ? `; POST ${esc(kc.submitted.url)}: ${esc(kc.submitted.error ?? `HTTP ${kc.submitted.status}`)}` : ''}`
    : '<span class="muted">no KCIDB document (night written before the export)</span>';
  const banner = n.exitCode === 0 ? 'ok' : n.exitCode === 1 ? 'warn' : 'bad';
  return `<section class="night" id="${esc(nightAnchor(n.nightlyId))}" data-night="${esc(n.nightlyId)}">
<h2>Night ${esc(n.nightlyId)}</h2>
<div class="banner ${banner}">exit code ${n.exitCode} (fail on ${esc(n.failOn)}); started ${esc(n.startedAt)}, finished ${esc(n.finishedAt)}</div>
<p><a href="${esc(id)}/nightly.json">nightly.json</a> · <a href="${esc(id)}/summary.txt">summary.txt</a> · ${kcidb}</p>
${n.boards.map(boardBlock).join('\n')}
</section>`;
}

const INDEX_CSS = `
svg.history { display: block; margin: 4px 0 0; } svg.history a.bar:hover rect { opacity: .8; }
.legend span { display: inline-block; margin-right: 14px; } .legend svg { vertical-align: -1px; }
section.night { margin-top: 8px; } .board { margin: 8px 0 16px; padding: 8px 12px; border: 1px solid var(--line); border-radius: 6px; }
table.kvt { width: auto; } table.kvt th { position: static; background: none; color: var(--muted); font-weight: normal; padding: 2px 12px 2px 0; }
table.kvt td { padding: 2px 0; border: 0; } table.kvt th { border: 0; }
ul.diff { margin: 4px 0; } .d-new b { color: var(--fail); } .d-fixed b { color: var(--pass); } .d-frame b, .d-changed b { color: var(--timeout); }
.history-board h3 { margin: 12px 0 0; font-size: 15px; }
`;

/** The index page over the nights given (any order; shown newest first). */
export function nightlyIndexHtml(nights: readonly NightlyRecord[], o: { generatedAt?: string } = {}): string {
  const sorted = [...nights].sort((a, b) => b.nightlyId.localeCompare(a.nightlyId));
  const history = boardHistory(sorted);
  const parts: string[] = [];
  parts.push(`<h1>vp9-workbench nightly</h1>`);
  parts.push(
    `<p class="muted">${sorted.length} night(s), ${history.size} board(s); written ${esc(o.generatedAt ?? new Date().toISOString())}. Each night's folder holds nightly.json, summary.txt and kcidb.json.</p>`,
  );
  parts.push('<h2>History</h2>');
  if (!history.size) parts.push('<p class="muted">no night yet</p>');
  else parts.push(legend());
  for (const [board, points] of history)
    parts.push(`<div class="history-board" data-board="${esc(board)}"><h3>${esc(board)}</h3>${historySvg(board, points)}</div>`);
  parts.push(...sorted.map(nightSection));
  const last = sorted[0];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vp9-workbench nightly${last ? `: ${esc(last.nightlyId)} exit ${last.exitCode}` : ''}</title>
<style>${CSS}${INDEX_CSS}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
}

/**
 * Writes `<reports>/nightly/index.html` from every night on disk
 * ({@link listNights}): the page goes to a hidden temp file in the same
 * folder, then is renamed over the old one, so a reader sees the old page
 * or the new one, never a half-written one, and a failure leaves the old
 * page in place (the temp file is removed).
 * @returns the index path.
 */
export function writeNightlyIndex(reportsRoot: string, o: { generatedAt?: string } = {}): string {
  const root = nightlyRoot(reportsRoot);
  mkdirSync(root, { recursive: true });
  const final = join(root, 'index.html');
  const tmp = join(root, `.index.html.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, nightlyIndexHtml(listNights(reportsRoot), o));
    renameSync(tmp, final);
  } finally {
    rmSync(tmp, { force: true });
  }
  return final;
}
