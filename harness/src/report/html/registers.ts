/**
 * The register part of a vector's details in index.html: the capture line
 * and download (run.json `captures`) and, per frame, the register table of
 * the registers check's differential (artifact registers-frames.json, read
 * at report time): MPP's field names, the series' value and MPP's, rows
 * that differ marked. Each frame is a collapsed <details>, and all of them
 * sit in one collapsed <details>, so a run of many frames stays usable.
 */
import { basename } from 'node:path';
import { REGISTER_FRAMES_FILE, RegisterFramesSchema, type FrameTable, type RegisterRow } from '../../model/captures.ts';
import type { VectorResult } from '../../model/record.ts';
import { captureLine } from '../summarize.ts';
import { esc } from './escape.ts';

const MARK: Record<RegisterRow['state'], string> = { equal: '', differs: '≠', allowed: '≈' };

function value(v: number | string): string {
  if (typeof v === 'string') return esc(v);
  return v > 9 ? `${v} <span class="muted">0x${v.toString(16)}</span>` : String(v);
}

function frameTable(t: FrameTable): string {
  const differs = t.rows.filter((r) => r.state === 'differs').length;
  const allowed = t.rows.filter((r) => r.state === 'allowed').length;
  const head = `frame ${t.frame} (${t.frameKind}${t.showFrame ? '' : ', hidden'}, ${t.width}x${t.height}, MPP job ${t.job}): ${t.rows.length} fields, ${differs} differ${allowed ? `, ${allowed} allowed` : ''}`;
  const rows = t.rows
    .map(
      (r) =>
        `<tr class="r-${r.state}"><td>${MARK[r.state]}</td><td>${r.reg}</td><td class="mono">${esc(r.field)}</td><td class="mono">${value(r.series)}${
          r.notWritten ? ' <span class="muted" title="the series did not write this register for this job">(not written)</span>' : ''
        }</td><td class="mono">${value(r.mpp)}</td></tr>`,
    )
    .join('');
  return `<details class="regframe" data-frame="${t.frame}"><summary class="${differs ? 'chk-fail' : ''}">${esc(head)}</summary><p class="muted">series job: ${esc(
    t.series,
  )}</p><table class="regtab"><thead><tr><th></th><th>reg</th><th>field (MPP vdpu34x)</th><th>series</th><th>MPP</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

/**
 * HTML of a vector's register captures and tables; '' when it has none.
 * @param read reads a file of the report folder (relative path), undefined when absent.
 */
export function registersBlock(v: VectorResult, read: ((rel: string) => Buffer | undefined) | undefined): string {
  const out: string[] = [];
  const c = v.captures;
  if (c) {
    const link = c.download ? ` <a class="capture-download" href="${esc(encodeURI(c.download))}" download>capture (JSON Lines)</a>` : '';
    out.push(`<p class="captures${c.equal ? '' : ' chk-fail'}">Register captures: ${esc(captureLine(c))}.${link}</p>`);
  }
  const art = v.artifacts.find((a) => basename(a.path) === REGISTER_FRAMES_FILE);
  if (!art) return out.join('');
  const data = read?.(art.path);
  if (!data) {
    out.push(`<p class="muted">register tables: ${esc(art.path)} is missing</p>`);
    return out.join('');
  }
  let parsed: ReturnType<typeof RegisterFramesSchema.safeParse>;
  try {
    parsed = RegisterFramesSchema.safeParse(JSON.parse(data.toString('utf8')));
  } catch (e) {
    out.push(`<p class="muted">register tables: ${esc(art.path)} is not JSON (${esc((e as Error).message)})</p>`);
    return out.join('');
  }
  if (!parsed.success) {
    const iss = parsed.error.issues[0]!;
    out.push(`<p class="muted">register tables: ${esc(art.path)}: field "${esc(iss.path.join('.'))}": ${esc(iss.message)}</p>`);
    return out.join('');
  }
  const frames = parsed.data.frames;
  const bad = frames.filter((f) => f.rows.some((r) => r.state === 'differs')).length;
  out.push(
    `<details class="regs"><summary>register tables: ${frames.length} frames, ${bad} with differences (series against MPP, MPP's field names; ≠ differs, ≈ allowed)</summary><label class="only-diff"><input type="checkbox"> differing rows only</label>${frames
      .map(frameTable)
      .join('')}</details>`,
  );
  return out.join('');
}
