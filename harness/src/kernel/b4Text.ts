/**
 * Text handling for `workbench series b4`: the cover letter taken from
 * patches/0000-cover-letter.patch, and the pre-flight checks on the messages
 * `b4 send -o DIR` writes (b4 0.16: one `.eml` file per message, the cover
 * letter first, ending with `base-commit:` / `change-id:` lines).
 */

/** A person as in a `From:` header. */
export interface Ident {
  name: string;
  email: string;
}

/** Cover letter text for `b4 prep --edit-cover`: subject line, blank line, body. */
export interface CoverText {
  subject: string;
  body: string;
  /** `change-id:` line of the source cover letter, when it has one. */
  changeId?: string;
  /** `base-commit:` line of the source cover letter, when it has one. */
  baseCommit?: string;
}

/** `change-id` format b4 makes: `YYYYMMDD-slug-<12 hex>`. */
export const CHANGE_ID_RE = /^(\d{8})-([a-z0-9][a-z0-9-]*)-([0-9a-f]{12})$/;

/** Splits a mail into unfolded headers (name lower-cased, repeats kept) and body. */
export function parseMail(text: string): { headers: [string, string][]; body: string } {
  const t = text.replace(/\r\n/g, '\n');
  const cut = t.indexOf('\n\n');
  const head = cut < 0 ? t : t.slice(0, cut);
  const body = cut < 0 ? '' : t.slice(cut + 2);
  const headers: [string, string][] = [];
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && headers.length) {
      headers[headers.length - 1]![1] += ` ${line.trim()}`;
      continue;
    }
    const m = /^([!-9;-~]+):[ \t]?(.*)$/.exec(line);
    if (m) headers.push([m[1]!.toLowerCase(), m[2]!.trim()]);
  }
  return { headers, body };
}

/** First value of header `name` (case-insensitive), or undefined. */
export function header(text: string, name: string): string | undefined {
  return parseMail(text).headers.find(([k]) => k === name.toLowerCase())?.[1];
}

/** Parses `Name <a@b>` (or a bare address); undefined when there is no address. */
export function parseIdent(s: string): Ident | undefined {
  const m = /^\s*"?([^"<]*?)"?\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(s);
  if (m) return { name: m[1]!.trim(), email: m[2]! };
  const b = /^\s*([^<>\s]+@[^<>\s]+)\s*$/.exec(s);
  return b ? { name: '', email: b[1]! } : undefined;
}

/** Splits an address list header (`a <x@y>, "b, c" <z@w>`) into entries. */
export function splitAddresses(s: string | undefined): string[] {
  if (!s) return [];
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    else if (ch === '<') angle = true;
    else if (ch === '>') angle = false;
    if (ch === ',' && !quoted && !angle) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * Makes the b4 cover letter from a `git format-patch --cover-letter` style
 * file: subject without the `[PATCH n/m]` prefix; body up to the shortlog
 * (`Author Name (N):`) that b4 generates itself, without the trailing
 * `base-commit:`/`change-id:` lines (b4 writes those too).
 */
export function coverFromPatch(text: string): CoverText {
  const { body } = parseMail(text);
  const subject = (header(text, 'subject') ?? '').replace(/^(\[[^\]]*\]\s*)+/, '').trim();
  const lines = body.replace(/\r\n/g, '\n').split('\n');
  const shortlog = lines.findIndex((l) => /^\S.*\(\d+\):$/.test(l));
  const kept = (shortlog < 0 ? lines : lines.slice(0, shortlog)).filter((l) => !/^(base-commit|change-id|prerequisite-[a-z-]+):/.test(l));
  const changeId = /^change-id:\s*(\S+)/m.exec(body)?.[1];
  const baseCommit = /^base-commit:\s*([0-9a-f]{40})/m.exec(body)?.[1];
  return { subject, body: kept.join('\n').trim(), ...(changeId ? { changeId } : {}), ...(baseCommit ? { baseCommit } : {}) };
}

/** The text handed to b4 as the cover letter (what its editor would hold). */
export function coverEditText(c: CoverText): string {
  return `${c.subject}\n\n${c.body}\n`;
}

/** 1-based numbers of the lines holding `EDITME` (b4's placeholder), with the line text. */
export function findEditme(text: string): { line: number; text: string }[] {
  return text
    .split('\n')
    .map((t, i) => ({ line: i + 1, text: t }))
    .filter((l) => /EDITME/.test(l.text));
}

/** Trailers (`Key: value` lines) of the commit message in a patch mail: the last paragraph before `---`. */
export function parseTrailers(mail: string): { key: string; value: string }[] {
  const { body } = parseMail(mail);
  const msg = body.replace(/\r\n/g, '\n').split(/^---$/m)[0]!.trimEnd();
  const paras = msg.split(/\n\s*\n/);
  const last = paras[paras.length - 1] ?? '';
  const out: { key: string; value: string }[] = [];
  for (const l of last.split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9-]*):\s+(.+)$/.exec(l);
    if (m) out.push({ key: m[1]!, value: m[2]!.trim() });
  }
  return out;
}

/** `Signed-off-by:` values of a patch mail. */
export function signedOffBy(mail: string): string[] {
  return parseTrailers(mail)
    .filter((t) => t.key.toLowerCase() === 'signed-off-by')
    .map((t) => t.value);
}

/** Replaces the `change-id` in the tracking JSON of b4's cover-letter commit message. */
export function setTrackingChangeId(message: string, changeId: string): string {
  return message.replace(/("change-id":\s*")[^"]*(")/, `$1${changeId}$2`);
}

/** Strips ANSI colour sequences (b4 colours its output even when not on a terminal). */
export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Totals of `b4 prep --check` (`Success: N, Warning: N, Error: N`). */
export function parseCheckTotals(out: string): { success: number; warning: number; error: number } | undefined {
  const m = /Success:\s*(\d+),\s*Warning:\s*(\d+),\s*Error:\s*(\d+)/.exec(stripAnsi(out));
  return m ? { success: Number(m[1]), warning: Number(m[2]), error: Number(m[3]) } : undefined;
}

/** Per-patch findings of `b4 prep --check`: lines `  ● checkpatch.pl: ...`. */
export function parseCheckFindings(out: string): string[] {
  return stripAnsi(out)
    .split('\n')
    .map((l) => /^\s+●\s+(\S+: .*)$/.exec(l)?.[1])
    .filter((l): l is string => !!l);
}

/** One pre-flight check of a b4-ready series. */
export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** The messages b4 wrote, reduced to what the pre-flight checks need. */
export interface SentSeries {
  cover: string;
  patches: string[];
}

/**
 * The pre-flight checks on the written messages (cover letter first):
 * no EDITME, base-commit present (and resolvable, told by the caller),
 * change-id present and well-formed, a Signed-off-by in every patch,
 * recipients set, checkpatch without errors.
 */
export function preflight(msgs: SentSeries, facts: { baseResolvable: boolean; check?: { error: number; warning: number } }): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  const all = [msgs.cover, ...msgs.patches];
  const editme = all.flatMap((m, i) => findEditme(m).map((e) => `message ${i}: line ${e.line}: ${e.text.trim()}`));
  out.push({ name: 'no EDITME', ok: editme.length === 0, detail: editme.length ? editme.join('; ') : 'none in the cover letter or patches' });
  const base = /^base-commit:\s*([0-9a-f]{40})$/m.exec(msgs.cover)?.[1];
  out.push({
    name: 'base-commit',
    ok: !!base && facts.baseResolvable,
    detail: base ? `${base}${facts.baseResolvable ? ' (resolvable in the tree)' : ' NOT resolvable in the tree'}` : 'missing from the cover letter',
  });
  const cid = /^change-id:\s*(\S+)$/m.exec(msgs.cover)?.[1];
  out.push({ name: 'change-id', ok: !!cid && CHANGE_ID_RE.test(cid), detail: cid ?? 'missing from the cover letter' });
  const unsigned = msgs.patches.map((p, i) => ({ i: i + 1, s: signedOffBy(p) })).filter((x) => x.s.length === 0);
  out.push({
    name: 'Signed-off-by',
    ok: msgs.patches.length > 0 && unsigned.length === 0,
    detail: unsigned.length ? `missing in patch ${unsigned.map((u) => u.i).join(', ')}` : `in all ${msgs.patches.length} patch(es)`,
  });
  const to = splitAddresses(header(msgs.cover, 'to'));
  out.push({
    name: 'recipients',
    ok: to.length > 0,
    detail: to.length ? `${to.length} To, ${splitAddresses(header(msgs.cover, 'cc')).length} Cc` : 'no To: (run b4 prep --auto-to-cc)',
  });
  out.push({
    name: 'checkpatch (b4 prep --check)',
    ok: !!facts.check && facts.check.error === 0,
    detail: facts.check ? `${facts.check.error} error(s), ${facts.check.warning} patch(es) with warnings` : 'no check totals in b4 output',
  });
  return out;
}
