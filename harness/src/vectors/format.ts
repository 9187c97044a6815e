import type { InspectResult } from './inspect.ts';
import type { ReferenceSet } from './references.ts';
import { FEATURES } from './features.ts';

const INTERP_SHORT: Record<string, string> = {
  eighttap: 'reg',
  eighttap_smooth: 'smooth',
  eighttap_sharp: 'sharp',
  bilinear: 'bilin',
  switchable: 'switch',
};

/**
 * The per-frame table of `workbench vectors inspect`: one line per
 * decodable frame (decode order) with the uncompressed header's main
 * fields. Column legend is printed above the table.
 */
export function formatFrameTable(r: InspectResult): string {
  const head = [
    '#',
    'out',
    'pkt',
    'sf',
    'offset',
    'size',
    'type',
    'show',
    'size WxH',
    'prof',
    'bd',
    'refresh',
    'refs(idx:bias)',
    'sz',
    'interp',
    'q',
    'dq',
    'lf',
    'seg',
    'tiles',
    'mode',
    'ctx',
    'uh+ch',
  ];
  const rows: string[][] = [head];
  for (const f of r.frames) {
    const h = f.header;
    if (h.showExistingFrame) {
      rows.push([
        String(f.index),
        String(f.outputIndex ?? ''),
        String(f.packetIndex),
        `${f.indexInPacket + 1}/${f.framesInPacket}`,
        String(f.offset),
        String(f.size),
        'SHOW-EXISTING',
        '1',
        `${h.width}x${h.height}`,
        String(h.profile),
        String(h.color.bitDepth),
        '-',
        `slot ${h.frameToShowMapIdx}`,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        String(h.uncompressedHeaderSize),
      ]);
      continue;
    }
    const type = h.frameType === 'key' ? 'KEY' : h.intraOnly ? 'INTRA-ONLY' : 'INTER';
    const refs = h.refFrameIdx ? h.refFrameIdx.map((x, i) => `${x}${h.refFrameSignBias![i] ? '+' : ''}`).join(',') : '-';
    const sz = h.sizeFromRef !== null ? `ref${h.sizeFromRef}` : h.frameType === 'key' || h.intraOnly ? 'exp' : 'exp';
    const seg = h.segmentation.enabled
      ? `on${h.segmentation.updateMap ? 'M' : ''}${h.segmentation.temporalUpdate ? 'T' : ''}${h.segmentation.updateData ? 'D' : ''}`
      : '-';
    const dq = h.quant.deltaQYDc || h.quant.deltaQUvDc || h.quant.deltaQUvAc ? `${h.quant.deltaQYDc}/${h.quant.deltaQUvDc}/${h.quant.deltaQUvAc}` : '-';
    const mode = h.errorResilientMode ? 'err' : h.frameParallelDecodingMode ? 'fpar' : 'adapt';
    rows.push([
      String(f.index),
      f.outputIndex === null ? '-' : String(f.outputIndex),
      String(f.packetIndex),
      `${f.indexInPacket + 1}/${f.framesInPacket}`,
      String(f.offset),
      String(f.size),
      type,
      h.showFrame ? '1' : '0',
      `${h.width}x${h.height}${h.renderSizeDifferent ? ` (r ${h.renderWidth}x${h.renderHeight})` : ''}`,
      String(h.profile),
      `${h.color.bitDepth}${h.color.subsamplingX ? '' : ':444'}`,
      `0x${h.refreshFrameFlags.toString(16).padStart(2, '0')}`,
      refs,
      sz + (h.refScaling ? ' SCALED' : ''),
      h.interpFilter ? (INTERP_SHORT[h.interpFilter] ?? h.interpFilter) : '-',
      `${h.quant.baseQIdx}${h.quant.lossless ? ' LL' : ''}`,
      dq,
      `${h.loopFilter.level}/${h.loopFilter.sharpness}${h.loopFilter.deltaUpdate ? 'u' : ''}`,
      seg,
      `${1 << h.tile.colsLog2}x${1 << h.tile.rowsLog2}`,
      mode,
      `${h.frameContextIdx}${h.refreshFrameContext ? 'r' : ''}${h.resetFrameContext ? `R${h.resetFrameContext}` : ''}`,
      `${h.uncompressedHeaderSize}+${h.headerSizeInBytes}`,
    ]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' ')
      .trimEnd(),
  );
  const legend =
    'legend: out = output frame number; sf = frame k of n in the packet (superframe); refs = ref_frame_idx for LAST,GOLDEN,ALTREF (+ = sign bias);\n' +
    '  sz = size coded explicitly (exp) or copied from reference i (refI), SCALED = a reference has another size; q = base_q_idx (LL lossless);\n' +
    '  dq = delta_q y_dc/uv_dc/uv_ac; lf = level/sharpness (u = deltas updated); seg: M map, T temporal, D data;\n' +
    '  mode: err = error resilient, fpar = frame parallel (no backward adaptation), adapt = backward adaptation; ctx = frame_context_idx (r refresh, R reset);\n' +
    '  uh+ch = uncompressed header bytes + header_size_in_bytes';
  return `${legend}\n${lines.join('\n')}`;
}

/** The summary block of `workbench vectors inspect`. */
export function formatSummary(r: InspectResult): string {
  const coded = r.frames.filter((f) => !f.header.showExistingFrame);
  const sizes = [...new Set(r.output.map((o) => `${o.width}x${o.height}`))];
  const lines = [
    `${r.file}: ${r.container.toUpperCase()} (${r.codec}), container size ${r.width}x${r.height}`,
    `  ${r.packets} packets, ${r.superframes.length} superframes, ${r.frames.length} frames (${coded.filter((f) => f.header.frameType === 'key').length} key, ${coded.filter((f) => f.header.intraOnly).length} intra-only, ${coded.filter((f) => !f.header.showFrame).length} hidden, ${r.frames.length - coded.length} show-existing), ${r.output.length} output frames`,
    `  output sizes: ${sizes.join(', ')}`,
    `  features:`,
    ...r.features.map((f) => `    ${f.padEnd(22)} ${FEATURES[f]}`),
  ];
  return lines.join('\n');
}

/** Text form of a reference set (per-frame hashes and the cross-check verdict). */
export function formatReferences(s: ReferenceSet): string {
  const lines = [
    `${s.vector}: ${s.frames.length} frames, MD5 ${s.md5} (${s.decoder})`,
    `  cross-check: ${
      s.crossCheck
        ? s.crossCheck.agreed
          ? `agrees (${s.crossCheck.decoder})`
          : `DISAGREES (${s.crossCheck.disagreements.length}): ${s.crossCheck.disagreements
              .slice(0, 5)
              .map((d) => `frame ${d.frame} ${d.kind}: ${d.detail}`)
              .join('; ')}`
        : 'not run'
    }`,
    '  #    size        format        i420 sha256 (first 16)  i420 xxh64        nv12 sha256 (first 16)  nv12 xxh64',
  ];
  for (const f of s.frames) {
    lines.push(
      `  ${String(f.index).padEnd(4)} ${`${f.width}x${f.height}`.padEnd(11)} ${f.pixelFormat.padEnd(13)} ${f.i420.sha256.slice(0, 16)}        ${f.i420.xxh64}  ${f.nv12 ? `${f.nv12.sha256.slice(0, 16)}        ${f.nv12.xxh64}` : '(not 4:2:0)'}`,
    );
  }
  return lines.join('\n');
}
