import { WorkbenchError } from '../../core/errors.ts';
import { demuxIvf, isIvf } from './ivf.ts';
import type { Demuxed } from './types.ts';
import { demuxWebm, isWebm } from './webm.ts';

export type { Demuxed, Packet } from './types.ts';

/**
 * Demuxes IVF or WebM bytes, chosen by the file signature (not the name).
 * @throws WorkbenchError `E_CONTAINER` for anything else; the IVF/WebM
 *   errors of {@link demuxIvf} / {@link demuxWebm}.
 */
export function demux(buf: Uint8Array, name = 'file'): Demuxed {
  if (isIvf(buf)) return demuxIvf(buf, name);
  if (isWebm(buf)) return demuxWebm(buf, name);
  throw new WorkbenchError('E_CONTAINER', `${name}: neither IVF (DKIF) nor WebM (EBML) signature`, {
    hint: 'the workbench reads VP9 in .ivf or .webm files',
  });
}
