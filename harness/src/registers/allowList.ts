import { globMatcher } from '../core/glob.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadToml, parseToml } from '../core/config.ts';

/**
 * One legitimate difference between the series' register programming and
 * MPP's. `field` is an MPP field name (regFields.ts, e.g.
 * `vp9d_param.reg103.allow_high_precision_mv`, `vp9d_addr.reg164_ref_last_base`)
 * or a glob over them (core/glob.ts: `*` any run of characters, `?` one); `reason` says
 * why the difference is right; `source` is a public reference for that
 * (an http(s) URL: a datasheet page, the VP9 spec, a mailing-list thread,
 * a line of MPP or Linux). Optional scope: `frames` limits it to key /
 * inter (not intra-only) / intra-only frames; `mpp` and `series` to
 * those exact values (value fields) or labels (address roles).
 */
export const AllowEntrySchema = z.strictObject({
  field: z.string().min(1),
  reason: z.string().min(10, 'expected a reason a reviewer can check (10 characters or more)'),
  source: z.string().regex(/^https?:\/\/\S+$/, 'expected a public http(s) URL'),
  frames: z.enum(['key', 'inter', 'intra-only']).optional(),
  mpp: z.union([z.number().int(), z.string()]).optional(),
  series: z.union([z.number().int(), z.string()]).optional(),
});
export type AllowEntry = z.infer<typeof AllowEntrySchema>;

export const AllowListSchema = z.strictObject({ allow: z.array(AllowEntrySchema).default([]) });

/** A loaded allow-list: its entries and the file they came from (for the report). */
export interface AllowList {
  file: string;
  entries: AllowEntry[];
}

/** The allow-list kept in the repository next to this file. */
export const DEFAULT_ALLOW_LIST = join(dirname(fileURLToPath(import.meta.url)), 'allow-list.toml');

/**
 * Reads an allow-list file (TOML: `[[allow]]` tables, {@link AllowEntrySchema}).
 * @throws WorkbenchError `E_CONFIG` naming the file, the line (syntax) or the entry and field (schema).
 */
export function loadAllowList(file: string = DEFAULT_ALLOW_LIST): AllowList {
  return { file, entries: loadToml(file, AllowListSchema).allow };
}

/** {@link loadAllowList} on text (tests). */
export function parseAllowList(text: string, file: string): AllowList {
  return { file, entries: parseToml(text, file, AllowListSchema).allow };
}

/** What an entry is matched against. */
export interface AllowSubject {
  field: string;
  frameKind: 'key' | 'inter' | 'intra-only';
  mpp: number | string;
  series: number | string;
}

const matchers = new WeakMap<AllowEntry, (name: string) => boolean>();
/** The entry's field glob, compiled once per entry. */
function fieldMatcher(e: AllowEntry): (name: string) => boolean {
  let m = matchers.get(e);
  if (!m) matchers.set(e, (m = globMatcher(e.field)));
  return m;
}

/** Index of the first entry that covers the difference, or -1. */
export function allowedBy(list: AllowList, d: AllowSubject): number {
  return list.entries.findIndex(
    (e) =>
      fieldMatcher(e)(d.field) &&
      (e.frames === undefined || e.frames === d.frameKind) &&
      (e.mpp === undefined || e.mpp === d.mpp) &&
      (e.series === undefined || e.series === d.series),
  );
}
