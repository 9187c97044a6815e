import { join } from 'node:path';
import { z } from 'zod';
import { loadToml } from '../../core/config.ts';
import { WorkbenchError } from '../../core/errors.ts';
import { projectRoot } from '../../core/paths.ts';
import { FEATURES, type FeatureId } from '../features.ts';
import type { SourceSpec } from './synth.ts';
import type { Derivation } from './derive.ts';

const featureId = z.string().refine((s) => s in FEATURES, { message: `unknown feature id (known: see harness/src/vectors/features.ts)` });

const sourceSchema = z.strictObject({
  width: z.number().int().min(1).max(8192),
  height: z.number().int().min(1).max(8192),
  frames: z.number().int().min(1).max(10000),
  bit_depth: z.union([z.literal(8), z.literal(10)]).default(8),
  chroma: z.enum(['420', '444']).default('420'),
  motion: z.tuple([z.number().int(), z.number().int()]).default([0, 0]),
  detail: z.number().int().min(0).max(128).default(40),
  noise: z.number().int().min(0).max(64).default(0),
  scene_cuts: z.array(z.number().int().min(0)).default([]),
  seed: z.number().int().min(0).default(1),
  fps: z.number().int().min(1).max(240).default(30),
});

/** vpxenc options the recipe may not set (the generator owns them). */
const RESERVED_ARGS = /^(-o|--output|--ivf|--webm|--codec|-D|--debug|-q|--quiet|--fpf|--pass)(=|$)/;

const deriveSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('intra-only'), keyframe: z.number().int().min(1) }),
  z.strictObject({
    kind: z.literal('set-header'),
    frames: z.enum(['all', 'inter']),
    loop_filter_sharpness: z.number().int().min(0).max(7).optional(),
    delta_q_y_dc: z.number().int().min(-15).max(15).optional(),
    delta_q_uv_dc: z.number().int().min(-15).max(15).optional(),
    delta_q_uv_ac: z.number().int().min(-15).max(15).optional(),
  }),
]);

const vectorSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ - only'),
  source: z.string(),
  container: z.enum(['ivf', 'webm']).default('ivf'),
  encoder: z.array(z.string().refine((a) => !RESERVED_ARGS.test(a), { message: 'this vpxenc option is set by the generator' })),
  derive: deriveSchema.optional(),
  covers: z.array(featureId).min(1),
  notes: z.string().default(''),
});

const recipesSchema = z.strictObject({
  suite: z.strictObject({ name: z.string(), description: z.string() }),
  sources: z.record(z.string(), sourceSchema),
  vectors: z.array(vectorSchema).min(1),
  impossible: z.record(featureId, z.string().min(1)).default({}),
});

/** One vector recipe, resolved (source spec attached). */
export interface VectorRecipe {
  name: string;
  container: 'ivf' | 'webm';
  /** vpxenc arguments from the recipe (the generator adds codec, output, container, -D, -q). */
  encoder: string[];
  derive: Derivation | null;
  covers: FeatureId[];
  notes: string;
  sourceName: string;
  source: SourceSpec;
}

/** The recipe file of a generated suite. */
export interface SuiteRecipes {
  /** The TOML file it came from. */
  file: string;
  name: string;
  description: string;
  vectors: VectorRecipe[];
  /** Features no vector can cover, with the reason (coverage table). */
  impossible: Partial<Record<FeatureId, string>>;
}

/** Path of the recipes of the generated suite (`vectors/<suite>/recipes.toml`). */
export function recipesPath(suite = 'vp9-features'): string {
  return join(projectRoot(), 'vectors', suite, 'recipes.toml');
}

/**
 * Loads and validates a recipe file (through core/config.ts, so errors name
 * the file and the dotted key).
 * @throws WorkbenchError `E_CONFIG` for syntax/validation errors, an
 *   unknown source name or a duplicate vector name.
 */
export function loadRecipes(file = recipesPath()): SuiteRecipes {
  const raw = loadToml(file, recipesSchema);
  const seen = new Set<string>();
  const vectors = raw.vectors.map((v, i): VectorRecipe => {
    const s = raw.sources[v.source];
    if (!s) {
      throw new WorkbenchError('E_CONFIG', `${file}: key 'vectors.${i}.source': no [sources.${v.source}] (known: ${Object.keys(raw.sources).join(', ')})`, {
        hint: `fix ${file}`,
      });
    }
    if (seen.has(v.name)) throw new WorkbenchError('E_CONFIG', `${file}: key 'vectors.${i}.name': duplicate vector name ${v.name}`, { hint: `fix ${file}` });
    seen.add(v.name);
    if (v.derive && v.container !== 'ivf') {
      throw new WorkbenchError('E_CONFIG', `${file}: key 'vectors.${i}.derive': derived vectors must use container = "ivf"`, { hint: `fix ${file}` });
    }
    return {
      name: v.name,
      container: v.container,
      encoder: v.encoder,
      derive: (v.derive as Derivation | undefined) ?? null,
      covers: v.covers as FeatureId[],
      notes: v.notes,
      sourceName: v.source,
      source: {
        width: s.width,
        height: s.height,
        frames: s.frames,
        bitDepth: s.bit_depth,
        chroma: s.chroma,
        motion: s.motion,
        detail: s.detail,
        noise: s.noise,
        sceneCuts: s.scene_cuts,
        seed: s.seed,
        fps: s.fps,
      },
    };
  });
  return { file, name: raw.suite.name, description: raw.suite.description, vectors, impossible: raw.impossible as SuiteRecipes['impossible'] };
}
