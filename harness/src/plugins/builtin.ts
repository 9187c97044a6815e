/**
 * The one place where the workbench's built-in plug-ins are listed: board
 * kinds (providers), decoder backends and per-vector checks. A new board kind, decoder or check is one file plus
 * one line here. Built at the edges (CLI commands, the pipeline's real
 * stages); tests build their own lists.
 */
import { DecoderBackends } from '../decode/backend.ts';
import { gstV4l2SlBackend } from '../decode/backends/gstV4l2sl.ts';
import { vpxdecHostBackend } from '../decode/backends/vpxdecHost.ts';
import { VectorChecks } from '../decode/checks/check.ts';
import { frameCountCheck } from '../decode/checks/frameCount.ts';
import { irqCheck } from '../decode/checks/irq.ts';
import { kernelLogCheck } from '../decode/checks/kernelLog.ts';
import { pixelsCheck } from '../decode/checks/pixels.ts';
import { vislBitstreamCheck } from '../decode/checks/vislBitstream.ts';
import { vislControlsCheck } from '../decode/checks/vislControls.ts';
import { BoardProviders } from '../target/provider.ts';
import { sshProvider } from '../target/providers/ssh.ts';
import { vboardProvider } from '../vboard/provider.ts';

/** The built-in board kinds: the virtual board first (the default board), then plain SSH boards. */
export function builtinProviders(): BoardProviders {
  return new BoardProviders([vboardProvider, sshProvider]);
}

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
  return new VectorChecks([pixelsCheck, frameCountCheck, vislControlsCheck, vislBitstreamCheck, kernelLogCheck, irqCheck]);
}

/** Every built-in plug-in. */
export interface Plugins {
  providers: BoardProviders;
  decoders: DecoderBackends;
  checks: VectorChecks;
}

/** The built-in plug-ins (a test adds its own kinds to these). */
export function builtinPlugins(): Plugins {
  return { providers: builtinProviders(), decoders: builtinDecoders(), checks: builtinChecks() };
}
