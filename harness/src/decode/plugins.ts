/**
 * The built-in decoder backends and per-vector checks, in one place (no
 * registration by import side effect). A new backend or check is one file
 * in decode/backends/ or decode/checks/ plus one entry here; the rest of
 * the workbench imports them from here.
 */
import { DecoderBackends } from './backend.ts';
import { gstV4l2SlBackend } from './backends/gstV4l2sl.ts';
import { vpxdecHostBackend } from './backends/vpxdecHost.ts';
import { VectorChecks } from './checks/check.ts';
import { frameCountCheck } from './checks/frameCount.ts';
import { irqCheck } from './checks/irq.ts';
import { kernelLogCheck } from './checks/kernelLog.ts';
import { pixelsCheck } from './checks/pixels.ts';
import { registersCheck } from './checks/registers.ts';
import { vislBitstreamCheck } from './checks/vislBitstream.ts';
import { vislControlsCheck } from './checks/vislControls.ts';

export { pixelsArtifacts } from './checks/pixels.ts';
export { PIXELS_NOT_VERIFIED, VISL } from './checks/visl.ts';
export { vislBitstreamResult } from './checks/vislBitstream.ts';
export { vislControlsResult } from './checks/vislControls.ts';
export type { CheckBoard, VectorCheck, VectorRun } from './checks/check.ts';
export { VectorChecks } from './checks/check.ts';
// for jobs that run the same decode elsewhere (farm/: LAVA test definitions) and judge it here
export { GST_DEBUG_SPEC, PLANAR_CAPS, demuxerFor, pipelineArgv } from './backends/gstV4l2sl.ts';
export { PROBE_SCRIPT } from './backends/gstElements.ts';
export { classifyGstFailure, droppedAtSizeChange } from './backends/gstFailure.ts';
export { judgeFrameStream } from './checks/frameCount.ts';
export { judgePixels } from './checks/pixels.ts';

/** The built-in decoder backends: GStreamer v4l2codecs on the board first (the default for boards), libvpx on the host. */
export function builtinDecoders(): DecoderBackends {
  return new DecoderBackends([gstV4l2SlBackend, vpxdecHostBackend]);
}

/**
 * The built-in per-vector checks, in the order their phases run: the visl
 * checks write the kernel-log marker in their own round trip, so they come
 * before the kernel-log check, which the IRQ check reads.
 */
export function builtinChecks(): VectorChecks {
  return new VectorChecks([pixelsCheck, frameCountCheck, vislControlsCheck, vislBitstreamCheck, kernelLogCheck, irqCheck, registersCheck]);
}
