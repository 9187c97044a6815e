import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkbenchError } from './errors.ts';

/** One apt source entry (either format), reduced to what we need. */
export interface AptSource {
  /** Where it was read: `file:line`. */
  origin: string;
  types: string[];
  uris: string[];
  suites: string[];
}

/**
 * Parses one-line `sources.list` text (`deb [opts] URI suite comp...`).
 * Comments, blank lines and `deb-src` are kept as types so callers filter.
 */
export function parseOneLine(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (!m) return;
    out.push({ origin: `${file}:${i + 1}`, types: [m[1]!], uris: [m[2]!], suites: [m[3]!] });
  });
  return out;
}

/** Parses deb822 `.sources` text (stanzas separated by blank lines). */
export function parseDeb822(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  let fields: Record<string, string> = {};
  let start = 1;
  let last = '';
  const flush = () => {
    if (fields.types && fields.uris && (fields.enabled ?? 'yes').toLowerCase() !== 'no') {
      out.push({
        origin: `${file}:${start}`,
        types: fields.types.split(/\s+/).filter(Boolean),
        uris: fields.uris.split(/\s+/).filter(Boolean),
        suites: (fields.suites ?? '').split(/\s+/).filter(Boolean),
      });
    }
    fields = {};
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    if (raw.trim() === '') {
      flush();
      start = i + 2;
      return;
    }
    if (/^\s/.test(raw) && last) {
      fields[last] += ` ${raw.trim()}`;
      return;
    }
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
    if (m) {
      last = m[1]!.toLowerCase();
      if (Object.keys(fields).length === 0) start = i + 1;
      fields[last] = m[2]!.trim();
    }
  });
  flush();
  return out;
}

/** True for a URI that looks like a Debian archive (path ends in /debian). */
function isDebianArchive(uri: string): boolean {
  try {
    const u = new URL(uri);
    return ['http:', 'https:', 'file:'].includes(u.protocol) && /\/debian\/?$/.test(u.pathname);
  } catch {
    return false;
  }
}

/**
 * Picks the Debian archive mirror from apt sources: the first `deb` entry
 * whose URI path ends in `/debian` (so `debian-security`, third-party repos
 * and `deb-src` are skipped). Fact: Debian mirrors serve `dists/sid` from the
 * same root as stable (Debian mirror documentation).
 *
 * @returns the URI without a trailing slash.
 */
export function pickDebianMirror(sources: AptSource[]): string | undefined {
  for (const s of sources) {
    if (!s.types.includes('deb')) continue;
    for (const u of s.uris) if (isDebianArchive(u)) return u.replace(/\/+$/, '');
  }
  return undefined;
}

/**
 * The Debian mirror this host's apt already uses: `WORKBENCH_DEBIAN_MIRROR`
 * when set, else parsed from `/etc/apt/sources.list` and
 * `/etc/apt/sources.list.d/*.{list,sources}` (files in name order).
 *
 * @throws WorkbenchError `E_NO_MIRROR` naming the files read.
 */
export function discoverDebianMirror(env: NodeJS.ProcessEnv = process.env, etcApt = '/etc/apt'): string {
  const override = env.WORKBENCH_DEBIAN_MIRROR;
  if (override) return override.replace(/\/+$/, '');
  const sources: AptSource[] = [];
  const read: string[] = [];
  const main = join(etcApt, 'sources.list');
  try {
    sources.push(...parseOneLine(readFileSync(main, 'utf8'), main));
    read.push(main);
  } catch {
    /* absent on deb822-only systems */
  }
  let names: string[] = [];
  try {
    names = readdirSync(join(etcApt, 'sources.list.d')).sort();
  } catch {
    /* none */
  }
  for (const n of names) {
    const p = join(etcApt, 'sources.list.d', n);
    try {
      if (n.endsWith('.list')) sources.push(...parseOneLine(readFileSync(p, 'utf8'), p));
      else if (n.endsWith('.sources')) sources.push(...parseDeb822(readFileSync(p, 'utf8'), p));
      else continue;
      read.push(p);
    } catch {
      /* unreadable: skip */
    }
  }
  const m = pickDebianMirror(sources);
  if (!m) {
    throw new WorkbenchError('E_NO_MIRROR', `no Debian archive mirror found in ${read.join(', ') || etcApt + ' (nothing readable)'}`, {
      hint: 'set WORKBENCH_DEBIAN_MIRROR to the URI of a Debian mirror (the one ending in /debian)',
    });
  }
  return m;
}
