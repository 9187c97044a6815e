import { z } from 'zod';
import { validate } from '../core/config.ts';

/**
 * The Fluster test-suite JSON the workbench writes (Fluster's
 * `fluster/test_suite.py` `TestSuite.from_json_file` and
 * `fluster/test_vector.py` `TestVector.from_json`): a suite has exactly
 * `name`, `codec`, `description`, `test_vectors`; a vector exactly `name`,
 * `source`, `source_checksum`, `input_file`, `output_format`, `result`.
 * Fluster passes every key of a vector to `TestVector(**data)`, so an extra
 * key makes it refuse the whole suite: the schema is strict.
 *
 * Names become directories (`<resources>/<suite>/<vector>/<input_file>`) and
 * Fluster compares `-tv`/`-sv` filters case-insensitively, so names are
 * restricted to `[A-Za-z0-9][A-Za-z0-9._-]*` and must be unique ignoring case.
 */

/** Safe Fluster name: also a single path component. */
export const FLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Output formats of Fluster's `OutputFormat` enum the workbench can produce references for. */
export const FLUSTER_OUTPUT_FORMATS = [
  'yuv420p',
  'yuv422p',
  'yuv444p',
  'yuv420p10le',
  'yuv422p10le',
  'yuv444p10le',
  'yuv420p12le',
  'yuv422p12le',
  'yuv444p12le',
] as const;

const md5 = z.string().regex(/^[0-9a-f]{32}$/, 'an MD5 (32 lower-case hex digits)');
const name = z.string().regex(FLUSTER_NAME, 'a name of letters, digits, ".", "_" or "-" (it becomes a directory)');

/** One test vector of a Fluster suite. */
export const flusterVectorSchema = z.strictObject({
  name,
  source: z.string().min(1),
  source_checksum: md5,
  input_file: name,
  output_format: z.enum(FLUSTER_OUTPUT_FORMATS),
  result: md5,
});

/** A whole Fluster suite as the workbench exports it. */
export const flusterSuiteSchema = z
  .strictObject({
    name,
    codec: z.literal('VP9'),
    description: z.string(),
    test_vectors: z.array(flusterVectorSchema).min(1),
  })
  .superRefine((s, ctx) => {
    const seen = new Map<string, number>();
    s.test_vectors.forEach((v, i) => {
      const k = v.name.toLowerCase();
      const prev = seen.get(k);
      if (prev !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['test_vectors', i, 'name'],
          message: `"${v.name}" repeats test_vectors[${prev}] (Fluster compares names ignoring case)`,
        });
      }
      seen.set(k, i);
    });
  });

/** A Fluster suite JSON object. */
export type FlusterSuiteJson = z.infer<typeof flusterSuiteSchema>;
/** One vector of a Fluster suite JSON. */
export type FlusterVectorJson = z.infer<typeof flusterVectorSchema>;

/**
 * Validates a Fluster suite object.
 * @param where file name used in the error message.
 * @throws WorkbenchError `E_CONFIG` naming the dotted key (e.g. `test_vectors.3.name`).
 */
export function validateFlusterSuite(data: unknown, where: string): FlusterSuiteJson {
  return validate(data, where, flusterSuiteSchema);
}
