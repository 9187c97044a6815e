import { createServer, type IncomingMessage } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateKcidb } from '../../src/farm/kcidb.ts';
import { runNight } from '../../src/farm/nightly.ts';
import { boardHistory, nightlyIndexHtml, statusCounts, writeNightlyIndex } from '../../src/farm/nightlyIndex.ts';
import type { NightlyRecord } from '../../src/farm/nightlyRecord.ts';
import { frame } from './lavaFixtures.ts';
import { KERNEL1, KERNEL2, plan, REF, runBoard } from './nightlyFixtures.ts';

/**
 * The nightly index and the night's KCIDB document, over two nights run by
 * runNight with the real collectJob (nightlyFixtures.ts: the verdicts
 * follow from the frame bytes each night decoded). The KCIDB documents are
 * checked with an ajv validator compiled here from the KCIDB v5.3 schema
 * (kcidb-io's own), not with the code under test's.
 */
const SCHEMA = [
  join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'reference', 'kcidb', 'kcidb-v5.3.schema.json'),
  '/work/shared/reference/kcidb/kcidb-v5.3.schema.json',
].find((p) => existsSync(p));

function schemaValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv.compile(JSON.parse(readFileSync(SCHEMA!, 'utf8')) as object);
}

const N1 = new Date('2026-12-01T02:00:00Z');
const N2 = new Date('2026-12-02T02:00:00Z');

/**
 * Night 1: vb decodes a right, b wrong at frame 1, c wrong at frame 1; rock5b all right.
 * Night 2: vb decodes a wrong at frame 0 (new failure), b wrong at frame 0 (first bad frame 1 -> 0), c right (fixed); rock5b cannot run.
 */
async function twoNights(root: string, extra: Partial<Parameters<typeof runNight>[0]> = {}) {
  const first = await runNight({
    plan: plan('vb', 'rock5b'),
    reportsRoot: root,
    now: () => N1,
    kcidbSchema: SCHEMA ?? '/nonexistent',
    ...extra,
    runBoard: runBoard(root, N1, {
      vb: { k: KERNEL1, out: { a: REF.a, b: [frame(3), frame(9)], c: [frame(5), frame(9)] } },
      rock5b: { k: KERNEL1, out: REF },
    }),
  });
  const second = await runNight({
    plan: plan('vb', 'rock5b'),
    reportsRoot: root,
    now: () => N2,
    kcidbSchema: SCHEMA ?? '/nonexistent',
    ...extra,
    runBoard: runBoard(root, N2, {
      vb: { k: KERNEL2, out: { a: [frame(8), frame(2)], b: [frame(8), frame(4)], c: REF.c } },
      rock5b: new Error('E_LAVA_SERVER: https://lava.example.org answered 502'),
    }),
  });
  return { first, second };
}

/** The counts the history plot of `board` draws: one {status: count} per bar, oldest first. */
function plotted(html: string, board: string): Record<string, number>[] {
  const svg = new RegExp(`<div class="history-board" data-board="${board}">(.*?)</svg>`, 's').exec(html)?.[1] ?? '';
  return [...svg.matchAll(/<a class="bar"[^>]*>(.*?)<\/a>/gs)].map((m) =>
    Object.fromEntries([...m[1]!.matchAll(/data-status="(\w+)" data-count="(\d+)"/g)].map((x) => [x[1]!, Number(x[2])])),
  );
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('nightly index', () => {
  it('after each night: the history per board, links to the run reports, and the diff against the previous night', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-nindex-'));
    const { first, second } = await twoNights(root);
    expect(second.index).toBe(join(root, 'nightly', 'index.html'));
    const html = readFileSync(second.index, 'utf8');
    // vb: night 1 1 pass + 2 fail, night 2 1 pass + 2 fail; rock5b: 3 pass, then not run (a hatched bar, no counts)
    expect(plotted(html, 'vb')).toEqual([
      { PASS: 1, FAIL: 2 },
      { PASS: 1, FAIL: 2 },
    ]);
    expect(plotted(html, 'rock5b')).toEqual([{ PASS: 3 }, {}]);
    expect(html).toMatch(/<a class="bar" href="#night-[^"]+"[^>]*>.*seg-not-run/s);
    // both nights, newest first, each with its links
    const ids = [...html.matchAll(/<section class="night" id="[^"]+" data-night="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual([second.record.nightlyId, first.record.nightlyId]);
    for (const e of [...first.record.boards, ...second.record.boards].filter((b) => b.runId))
      expect(html).toContain(`<a class="run-link" href="../${e.runId}/index.html">${e.runId}</a>`);
    expect(html).toContain(`<a href="${second.record.nightlyId}/kcidb.json">kcidb.json</a>`);
    expect(html).toContain(`<a href="${second.record.nightlyId}/summary.txt">summary.txt</a>`);
    // the local lava-run job has no page: its id is shown, not linked
    expect(html).toContain('job 7 <span class="muted">(lava-run (local): no job page)</span>');
    // night 2's diff of vb, as the frame bytes say
    const vb2 = /<section class="night"[^>]*data-night="[^"]*">.*?<div class="board" data-board="vb">(.*?)<\/div>/s.exec(html)![1]!;
    expect(vb2).toContain('<li class="d-new"><b>new failure</b> a.ivf: pass → fail</li>');
    expect(vb2).toContain('<li class="d-fixed"><b>fixed</b> c.ivf: fail → pass</li>');
    expect(vb2).toContain('<li class="d-frame"><b>first bad frame</b> b.ivf: frame 1 → frame 0</li>');
    expect(vb2).toContain(`Compared with <a class="run-link" href="../${first.record.boards[0]!.runId}/index.html">`);
    expect(html).toContain('E_LAVA_SERVER: https://lava.example.org answered 502');
    // no script, nothing loaded from elsewhere
    expect(html).not.toMatch(/<script|src="http|href="http/);
    // the index is the only non-night entry; no temp file left
    expect(readdirSync(join(root, 'nightly')).sort()).toEqual([first.record.nightlyId, second.record.nightlyId, 'index.html'].sort());
  });

  it('escapes every string of the records (hostile board and vector names, job URL)', () => {
    const hostile = '<img src=x onerror=alert(1)>"\'&';
    const n: NightlyRecord = {
      schema: 'vp9-workbench/nightly',
      version: 1,
      nightlyId: '20261201-020000-nightly-0001',
      startedAt: '2026-12-01T02:00:00.000Z',
      finishedAt: '2026-12-01T02:10:00.000Z',
      exitCode: 1,
      failOn: 'any',
      boards: [
        {
          board: hostile,
          profile: 'ssh',
          via: '<b>via</b>',
          exitCode: 1,
          runId: '../../etc"><script>alert(1)</script>',
          jobId: '1',
          jobUrl: 'javascript:alert(1)',
          health: 'Complete',
          counts: { total: 1, ran: 1, notRun: 0, pass: 0, fail: 1, timeout: 0, error: 0, 'not-supported': 0, crash: 0 },
          previous: { nightlyId: '20261130-020000-nightly-0000', runId: 'r0' },
          diff: {
            base: 'r0',
            head: 'r1',
            newFailures: [{ vector: '<script>alert(2)</script>', before: 'pass', after: 'fail' }],
            fixes: [],
            changedFirstBadFrame: [],
            otherChanges: [],
            changedHashes: [],
            changedIrq: [],
            missing: [],
            unchanged: 0,
          },
        },
      ],
    };
    const html = nightlyIndexHtml([n], { generatedAt: '2026-12-01T03:00:00Z' });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>via</b>');
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    // a run id outside the run-id pattern is shown as text, never a link
    expect(html).not.toContain('href="../../');
  });

  it('a night that fails to be written leaves the previous index as it was; a failing index write leaves no temp file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-nindex-'));
    const first = await runNight({
      plan: plan('vb'),
      reportsRoot: root,
      now: () => N1,
      kcidbSchema: SCHEMA ?? '/nonexistent',
      runBoard: runBoard(root, N1, { vb: { k: KERNEL1, out: REF } }),
    });
    const before = readFileSync(first.index, 'utf8');
    // the second night's id is taken (Math.random pinned to 0 gives the suffix 0000): writeNight refuses, no new index
    vi.spyOn(Math, 'random').mockReturnValue(0);
    mkdirSync(join(root, 'nightly', '20261202-020000-nightly-0000'));
    await expect(
      runNight({
        plan: plan('vb'),
        reportsRoot: root,
        now: () => N2,
        kcidbSchema: SCHEMA ?? '/nonexistent',
        runBoard: runBoard(root, N2, { vb: { k: KERNEL2, out: { a: [frame(8), frame(2)], b: REF.b, c: REF.c } } }),
      }),
    ).rejects.toThrow(/already exists/);
    expect(readFileSync(first.index, 'utf8')).toBe(before);
    // a night record the page cannot be drawn from: the write throws, the old page stays, no temp file
    mkdirSync(join(root, 'nightly', '20261203-020000-nightly-0001'));
    writeFileSync(
      join(root, 'nightly', '20261203-020000-nightly-0001', 'nightly.json'),
      JSON.stringify({ schema: 'vp9-workbench/nightly', nightlyId: '20261203-020000-nightly-0001', boards: null }),
    );
    expect(() => writeNightlyIndex(root)).toThrow();
    expect(readFileSync(first.index, 'utf8')).toBe(before);
    expect(readdirSync(join(root, 'nightly')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('history counts follow the KCIDB statuses: pass PASS, fail and crash FAIL, timeout and error ERROR, not-supported SKIP', () => {
    expect(statusCounts({ total: 21, ran: 21, notRun: 0, pass: 1, fail: 2, crash: 3, timeout: 4, error: 5, 'not-supported': 6 })).toEqual({
      PASS: 1,
      FAIL: 5,
      ERROR: 9,
      SKIP: 6,
    });
    expect([...boardHistory([]).keys()]).toEqual([]);
  });
});

describe.skipIf(!SCHEMA)('the night in KCIDB v5.3', () => {
  it('kcidb.json of each night: valid for the schema (ajv compiled here), origin vp9wb, one test per vector with the status the bytes give', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-nkcidb-'));
    const { first, second } = await twoNights(root);
    const validate = schemaValidator();
    for (const n of [first, second]) {
      const doc = JSON.parse(readFileSync(join(n.dir, 'kcidb.json'), 'utf8')) as Record<string, { origin: string; path?: string; status?: string }[]>;
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
      expect(n.record.kcidb).toMatchObject({ file: 'kcidb.json', valid: true, errors: [] });
      for (const k of ['checkouts', 'builds', 'tests']) for (const o of doc[k]!) expect(o.origin).toBe('vp9wb');
    }
    const tests = (n: typeof first) =>
      (JSON.parse(readFileSync(join(n.dir, 'kcidb.json'), 'utf8')) as { tests: { path: string; status: string }[] }).tests.map((t) => [
        t.path.split('.').at(-1),
        t.status,
      ]);
    // night 1: vb a right, b and c wrong; rock5b all right
    expect(tests(first)).toEqual([
      ['a-ivf', 'PASS'],
      ['b-ivf', 'FAIL'],
      ['c-ivf', 'FAIL'],
      ['a-ivf', 'PASS'],
      ['b-ivf', 'PASS'],
      ['c-ivf', 'PASS'],
    ]);
    expect(first.record.kcidb).toMatchObject({ checkouts: 2, builds: 2, tests: 6 });
    // night 2: rock5b did not run, so only vb's tests
    expect(tests(second)).toEqual([
      ['a-ivf', 'FAIL'],
      ['b-ivf', 'FAIL'],
      ['c-ivf', 'PASS'],
    ]);
    expect(readFileSync(join(second.dir, 'summary.txt'), 'utf8')).toContain('KCIDB v5.3: kcidb.json (1 checkout(s), 1 build(s), 3 test(s)) valid against');
  });

  it('the schema refuses a broken document; without a schema file the night says it was not validated', async () => {
    const bad = await validateKcidb({ version: { major: 5, minor: 3 }, tests: [{ id: 'x', origin: 'vp9-workbench', build_id: 'y' }] }, SCHEMA!);
    expect(bad.valid).toBe(false);
    expect(bad.errors.length).toBeGreaterThan(0);
    // a schema file that is not JSON: the boards have run, the night is still written and says why it was not validated
    const root = mkdtempSync(join(tmpdir(), 'wb-nkbad-'));
    writeFileSync(join(root, 'broken.schema.json'), '{ not json');
    const n = await runNight({
      plan: plan('vb'),
      reportsRoot: root,
      now: () => N1,
      kcidbSchema: join(root, 'broken.schema.json'),
      runBoard: runBoard(root, N1, { vb: { k: KERNEL1, out: REF } }),
    });
    expect(n.record.kcidb?.valid).toBeNull();
    expect(n.record.kcidb?.errors[0]).toMatch(/broken\.schema\.json: not a JSON Schema ajv compiles/);
    expect(existsSync(join(n.dir, 'kcidb.json'))).toBe(true);
    const none = await validateKcidb({}, '/nonexistent/kcidb.schema.json');
    expect(none).toEqual({
      schema: '/nonexistent/kcidb.schema.json',
      valid: null,
      errors: ['no schema file at /nonexistent/kcidb.schema.json (set WORKBENCH_KCIDB_SCHEMA)'],
    });
  });

  it('POSTs the validated document to the plan endpoint with a Bearer token; a refusal is exit 2 and never shows the token', async () => {
    const got: { auth?: string; type?: string; body: string }[] = [];
    let answer = 200;
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ auth: req.headers.authorization, type: req.headers['content-type'], body });
        res.writeHead(answer, { 'content-type': 'text/plain' });
        res.end(answer === 200 ? 'ok' : `bad token s3cr3t-token`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const root = mkdtempSync(join(tmpdir(), 'wb-nkpost-'));
      const env = { KCIDB_TOKEN: 's3cr3t-token' };
      const p = { ...plan('vb'), kcidb: { url: `http://127.0.0.1:${port}/submit`, token_env: 'KCIDB_TOKEN' } };
      const ok = await runNight({
        plan: p,
        reportsRoot: root,
        now: () => N1,
        env,
        kcidbSchema: SCHEMA!,
        runBoard: runBoard(root, N1, { vb: { k: KERNEL1, out: REF } }),
      });
      expect(got).toHaveLength(1);
      expect(got[0]!.auth).toBe('Bearer s3cr3t-token');
      expect(got[0]!.type).toBe('application/json');
      expect(schemaValidator()(JSON.parse(got[0]!.body))).toBe(true);
      expect(JSON.parse(got[0]!.body)).toEqual(JSON.parse(readFileSync(join(ok.dir, 'kcidb.json'), 'utf8')));
      expect(ok.record.kcidb?.submitted).toEqual({ url: `http://127.0.0.1:${port}/submit`, status: 200 });
      expect(ok.record.exitCode).toBe(0);
      answer = 403;
      const refused = await runNight({
        plan: p,
        reportsRoot: root,
        now: () => N2,
        env,
        kcidbSchema: SCHEMA!,
        runBoard: runBoard(root, N2, { vb: { k: KERNEL1, out: REF } }),
      });
      expect(refused.record.kcidb?.submitted?.error).toBe(`E_KCIDB_SUBMIT: POST http://127.0.0.1:${port}/submit answered 403: bad token <token>`);
      expect(refused.record.exitCode).toBe(2);
      expect(readFileSync(join(refused.dir, 'nightly.json'), 'utf8')).not.toContain('s3cr3t');
      // no token in the environment: not sent, the night says why
      const noToken = await runNight({
        plan: p,
        reportsRoot: root,
        now: () => new Date('2026-12-03T02:00:00Z'),
        env: {},
        kcidbSchema: SCHEMA!,
        runBoard: runBoard(root, N2, { vb: { k: KERNEL1, out: REF } }),
      });
      expect(noToken.record.kcidb?.submitted?.error).toMatch(/^E_KCIDB_TOKEN: the environment variable KCIDB_TOKEN/);
      expect(got).toHaveLength(2);
    } finally {
      server.close();
    }
  });
});
