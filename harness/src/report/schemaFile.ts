/**
 * Generates `reports/schema/run.schema.json` (JSON Schema 2020-12) from the
 * zod schemas of record.ts, so the published schema never drifts from the
 * code. A unit test fails when the checked-in file differs from the output.
 *
 * Regenerate: `node --import tsx harness/src/report/schemaFile.ts --write`
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RunRecordSchema, RUN_SCHEMA_VERSION } from '../model/record.ts';
import { projectRoot } from '../core/paths.ts';

/** Path of the checked-in JSON Schema file. */
export function runSchemaPath(): string {
  return join(projectRoot(), 'reports', 'schema', 'run.schema.json');
}

/** The JSON Schema of run.json as pretty-printed text (with a trailing newline). */
export function runSchemaText(): string {
  const schema = z.toJSONSchema(RunRecordSchema, { target: 'draft-2020-12', io: 'output' }) as Record<string, unknown>;
  const out = {
    $schema: schema.$schema,
    $id: `urn:vp9-workbench:run:${RUN_SCHEMA_VERSION}`,
    title: `vp9-workbench run record, schemaVersion ${RUN_SCHEMA_VERSION}`,
    description: 'Generated from harness/src/model/record.ts; documented in reports/README.md. Do not edit by hand.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
  return JSON.stringify(out, null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) {
  const p = runSchemaPath();
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, runSchemaText());
  process.stdout.write(`wrote ${p}\n`);
}
