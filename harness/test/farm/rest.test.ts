import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { startArtefactServer } from '../../src/farm/artefactServer.ts';
import { fetchJob, submitJob, tokenFromEnv, waitForJob, type Fetch } from '../../src/farm/rest.ts';

const TOKEN = 'sekrit-token-4711';

/** A stand-in LAVA REST v0.2 server: records calls, answers from a script. */
function fakeServer(answers: Record<string, (body?: string) => { status: number; text: string }>) {
  const calls: { method: string; url: string; headers: Record<string, string>; body?: string }[] = [];
  const f: Fetch = async (url, init = {}) => {
    calls.push({ method: init.method ?? 'GET', url, headers: init.headers ?? {}, ...(init.body ? { body: init.body } : {}) });
    const key = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
    const a = answers[key];
    const r = a ? a(init.body) : { status: 404, text: '{"detail":"Not found."}' };
    return { status: r.status, text: async () => r.text };
  };
  return { f, calls };
}

describe('LAVA REST v0.2 client', () => {
  it('submits the definition as JSON with the token in the Authorization header only', async () => {
    const s = fakeServer({ 'POST /api/v0.2/jobs/': () => ({ status: 201, text: '{"message":"job(s) successfully submitted","job_ids":[42]}' }) });
    const ids = await submitJob('http://lava.test/', 'job_name: x\n', TOKEN, s.f);
    expect(ids).toEqual([42]);
    expect(s.calls[0]!.url).toBe('http://lava.test/api/v0.2/jobs/');
    expect(s.calls[0]!.headers.authorization).toBe(`Token ${TOKEN}`);
    expect(JSON.parse(s.calls[0]!.body!)).toEqual({ definition: 'job_name: x\n' });
    expect(s.calls[0]!.url).not.toContain(TOKEN);
  });

  it('a refused job names the status and the server message, and never the token (even when the server echoes it)', async () => {
    const s = fakeServer({ 'POST /api/v0.2/jobs/': () => ({ status: 400, text: `{"message":"job submission failed: bad key for token ${TOKEN}"}` }) });
    try {
      await submitJob('http://lava.test', 'x: 1', TOKEN, s.f);
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_LAVA_SERVER')).toBe(true);
      const err = e as Error & { hint?: string };
      expect(err.message).toContain('answered 400');
      expect(err.message).toContain('job submission failed');
      expect(err.message + (err.hint ?? '')).not.toContain(TOKEN);
    }
  });

  it('waits until Finished, then reads health and the log', async () => {
    const states = ['Submitted', 'Running', 'Finished'];
    const s = fakeServer({
      'GET /api/v0.2/jobs/42/': () => ({
        status: 200,
        text: JSON.stringify({ id: 42, state: states.shift() ?? 'Finished', health: states.length ? 'Unknown' : 'Complete' }),
      }),
      'GET /api/v0.2/jobs/42/logs/': () => ({ status: 200, text: '- {"dt": "2026-12-01T00:00:00+00:00", "lvl": "info", "msg": "hi"}\n' }),
    });
    const seen: string[] = [];
    const st = await waitForJob('http://lava.test', 42, TOKEN, { pollMs: 1, fetch: s.f, log: (m) => seen.push(m) });
    expect(st.state).toBe('Finished');
    expect(seen).toEqual(['job 42: Submitted', 'job 42: Running', 'job 42: Finished']);
    const j = await fetchJob('http://lava.test', '42', TOKEN, s.f);
    expect(j.log).toContain('"msg": "hi"');
    expect(j.url).toBe('http://lava.test/scheduler/job/42');
  });

  it('the token comes from an environment variable; a missing one is a clear error', () => {
    expect(tokenFromEnv('LAVA_T', true, { LAVA_T: 'x' })).toBe('x');
    expect(() => tokenFromEnv('LAVA_T', true, {})).toThrow(/LAVA_T/);
    expect(tokenFromEnv('LAVA_T', false, {})).toBeUndefined();
    expect(() => tokenFromEnv('A-B', true, {})).toThrow(/not an environment variable name/);
  });
});

describe('artefact server', () => {
  it('serves files under its root on 127.0.0.1, nothing outside, no listing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-art-'));
    writeFileSync(join(root, 'modules.tar.xz'), 'abc');
    const s = await startArtefactServer(root);
    try {
      const get = async (p: string) => {
        const r = await fetch(`http://127.0.0.1:${s.port}${p}`);
        return { status: r.status, text: await r.text() };
      };
      expect(await get('/modules.tar.xz')).toEqual({ status: 200, text: 'abc' });
      expect((await get('/')).status).toBe(404);
      expect((await get('/%2e%2e/etc/passwd')).status).toBe(404);
      expect((await get('/missing')).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
