import { DecoderBackends } from '../decode/backend.ts';
import { builtinChecks, builtinDecoders, type VectorChecks } from '../decode/plugins.ts';
import type { BoardProviders } from '../target/provider.ts';
import { builtinProviders } from '../target/providers/builtin.ts';

/**
 * The three kinds of plug-in that decide how a vector is judged (see
 * harness/ARCHITECTURE.md): board kinds (target/providers/builtin.ts),
 * decoder backends and per-vector checks (decode/plugins.ts).
 */
export interface Plugins {
  providers: BoardProviders;
  decoders: DecoderBackends;
  checks: VectorChecks;
}

/** The built-in plug-ins (a test registers its own kinds on these). */
export function builtinPlugins(): Plugins {
  return { providers: builtinProviders(), decoders: builtinDecoders(), checks: builtinChecks() };
}
