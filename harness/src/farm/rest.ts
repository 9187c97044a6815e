import { WorkbenchError } from '../core/errors.ts';

/**
 * LAVA's REST API v0.2 (lava_rest_app, lava-server 2026.10), with plain
 * fetch:
 * - `POST /api/v0.2/jobs/` body `{"definition": "<job YAML>"}` with
 *   `Authorization: Token <token>` → 201 `{"job_ids": [N]}`;
 * - `GET /api/v0.2/jobs/<id>/` → `{state, health, ...}` (state Submitted,
 *   Scheduling, Scheduled, Running, Canceling, Finished; health Unknown,
 *   Complete, Incomplete, Canceled);
 * - `GET /api/v0.2/jobs/<id>/logs/` → the job log (YAML list of {dt, lvl, msg}).
 * The token is sent in a header only; it never appears in an error, a log
 * line or a report (errors quote the server's status and at most 300
 * characters of its body, with the token masked if the server echoed it).
 */

/** A job's state and health. */
export interface JobState {
  id: number;
  state: string;
  health: string;
}

/** `fetch` as this module uses it (tests pass a fake). */
export type Fetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

/**
 * The token from an environment variable.
 * @throws WorkbenchError E_LAVA_TOKEN when `required` and the variable is unset or empty.
 */
export function tokenFromEnv(name: string, required: boolean, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new WorkbenchError('E_USAGE', `--token-env ${name} is not an environment variable name`);
  const v = env[name];
  if (!v && required)
    throw new WorkbenchError('E_LAVA_TOKEN', `the environment variable ${name} holding the LAVA API token is not set`, {
      hint: `export ${name}=<token from the server's API tokens page> (never pass a token on the command line)`,
    });
  return v || undefined;
}

function base(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new WorkbenchError('E_USAGE', `--server ${server} is not a URL`, { hint: 'e.g. https://lava.example.org' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WorkbenchError('E_USAGE', `--server ${server}: http or https only`);
  return server.replace(/\/+$/, '');
}

function masked(text: string, token: string | undefined): string {
  const t = text.slice(0, 300);
  return token ? t.split(token).join('<token>') : t;
}

async function call(f: Fetch, method: string, url: string, token: string | undefined, body?: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Token ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r;
  try {
    r = await f(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (e) {
    throw new WorkbenchError('E_LAVA_SERVER', `${method} ${url} failed: ${masked(String((e as Error).message), token)}`, {
      hint: 'is the server reachable (URL, network, TLS)?',
    });
  }
  return { status: r.status, text: await r.text() };
}

function serverError(what: string, url: string, r: { status: number; text: string }, token: string | undefined): WorkbenchError {
  const hint =
    r.status === 401 || r.status === 403
      ? 'check the token (and that its user may submit jobs)'
      : r.status === 400
        ? 'the server rejected the job: see its message (run `workbench lava validate` first)'
        : 'see the server logs';
  return new WorkbenchError('E_LAVA_SERVER', `${what}: ${url} answered ${r.status}: ${masked(r.text, token)}`, { hint });
}

/**
 * Submits a job definition.
 * @returns the job ids (one, or several for a multinode job).
 * @throws WorkbenchError E_LAVA_SERVER (status and the server's message).
 */
export async function submitJob(server: string, definition: string, token: string, f: Fetch = fetch as unknown as Fetch): Promise<number[]> {
  const url = `${base(server)}/api/v0.2/jobs/`;
  const r = await call(f, 'POST', url, token, { definition });
  if (r.status !== 201) throw serverError('submitting the job', url, r, token);
  let ids: unknown;
  try {
    ids = (JSON.parse(r.text) as { job_ids?: unknown }).job_ids;
  } catch {
    ids = undefined;
  }
  if (!Array.isArray(ids) || !ids.length || ids.some((i) => !Number.isInteger(i)))
    throw serverError('submitting the job (no job_ids in the answer)', url, r, token);
  return ids as number[];
}

/** A job's state and health. @throws WorkbenchError E_LAVA_SERVER. */
export async function jobState(server: string, id: number | string, token: string | undefined, f: Fetch = fetch as unknown as Fetch): Promise<JobState> {
  const url = `${base(server)}/api/v0.2/jobs/${encodeURIComponent(String(id))}/`;
  const r = await call(f, 'GET', url, token);
  if (r.status !== 200) throw serverError('reading the job', url, r, token);
  const j = JSON.parse(r.text) as { id: number; state: string; health: string };
  return { id: j.id, state: j.state, health: j.health };
}

/** LAVA states of a job that will not change any more. */
export const FINISHED = 'Finished';

/**
 * Polls a job until its state is Finished.
 * @throws WorkbenchError E_LAVA_TIMEOUT after `timeoutMs`.
 */
export async function waitForJob(
  server: string,
  id: number,
  token: string | undefined,
  o: { pollMs?: number; timeoutMs?: number; log?: (m: string) => void; fetch?: Fetch } = {},
): Promise<JobState> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const s = await jobState(server, id, token, o.fetch);
    if (s.state !== last) o.log?.(`job ${id}: ${s.state}`);
    last = s.state;
    if (s.state === FINISHED) return s;
    if (Date.now() - t0 > (o.timeoutMs ?? 6 * 3600_000)) {
      throw new WorkbenchError('E_LAVA_TIMEOUT', `job ${id} is still ${s.state} after ${Math.round((Date.now() - t0) / 1000)} s`, {
        hint: 'collect it later with `workbench lava collect --server ... --job ' + id + '`',
      });
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 10_000));
  }
}

/** A finished job: health, log text and page. @throws WorkbenchError E_LAVA_SERVER. */
export async function fetchJob(
  server: string,
  id: string,
  token: string | undefined,
  f: Fetch = fetch as unknown as Fetch,
): Promise<{ health: string; state: string; log: string; url: string }> {
  const s = await jobState(server, id, token, f);
  const url = `${base(server)}/api/v0.2/jobs/${encodeURIComponent(id)}/logs/`;
  const r = await call(f, 'GET', url, token);
  if (r.status !== 200) throw serverError('reading the job log', url, r, token);
  return { health: s.health, state: s.state, log: r.text, url: `${base(server)}/scheduler/job/${encodeURIComponent(id)}` };
}
