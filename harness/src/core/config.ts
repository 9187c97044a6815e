import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { WorkbenchError } from './errors.ts';

/**
 * Parses TOML `text` (from `file`) and validates it with `schema`.
 * Every config file of the workbench (manifests, boards.toml, vector recipes)
 * goes through here, so errors look the same everywhere.
 *
 * @throws WorkbenchError `E_CONFIG` naming the file, the line/column (syntax)
 *   or the dotted key (validation) and what was expected.
 */
export function parseToml<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      throw new WorkbenchError('E_CONFIG', `${file}:${e.line}:${e.column}: TOML syntax error: ${firstLine(e.message)}`, {
        hint: 'fix the syntax at that line (TOML 1.0)',
      });
    }
    throw e;
  }
  return validate(raw, file, schema);
}

/** Reads and parses a TOML file; see {@link parseToml}. @throws E_CONFIG also when unreadable. */
export function loadToml<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new WorkbenchError('E_CONFIG', `${file}: cannot read: ${(e as Error).message}`, { cause: e });
  }
  return parseToml(text, file, schema);
}

/**
 * Validates already-parsed data with a zod schema.
 * @throws WorkbenchError `E_CONFIG`: `file: key.path: message` per issue.
 */
export function validate<S extends z.ZodType>(raw: unknown, file: string, schema: S): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const key = i.path.length ? i.path.map(String).join('.') : '(top level)';
    return `${file}: key '${key}': ${i.message}`;
  });
  throw new WorkbenchError('E_CONFIG', lines.join('\n'), { hint: `fix ${file} (the key(s) named above)` });
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
