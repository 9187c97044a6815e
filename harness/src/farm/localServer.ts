import { tail } from '../core/text.ts';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { chrootArgv } from '../toolbox/chrootExec.ts';
import { requireRoot } from '../toolbox/mmdebstrap.ts';
import type { FarmChroot } from './chroot.ts';
import { deviceDictText, type DeviceDict } from './device.ts';

/**
 * A real LAVA instance on 127.0.0.1, from Debian sid's lava-server in the
 * farm chroot: PostgreSQL (a fresh cluster, trust auth, listening on
 * 127.0.0.1 only), the Django app under gunicorn (REST API v0.2), the
 * scheduler, and one lava-worker (which runs lava-run) attached to it, with
 * the devices given. Everything runs in one chroot command (one PID
 * namespace): stopping it stops every process. Meant for tests and for
 * trying jobs before a lab sees them; not a production setup.
 *
 * lava-server reads its database and secret from the environment
 * (DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS: lava_server/settings/prod.py),
 * device dictionaries from /etc/lava-server/dispatcher-config/devices
 * (a folder of ours bound there).
 *
 * Everything an instance writes stays in its own folder, never in the
 * cached chroot: every fresh database numbers its jobs from 1 again, and
 * lava-server keeps a job's log in MEDIA_ROOT/job-output/YYYY/MM/DD/<id>/
 * (lava_scheduler_app TestJob.output_dir) and lava-worker its jobs in
 * <worker-dir>/db.sqlite3, so state left in the chroot by an earlier
 * instance the same day was taken for the new job 1, 2...: its log came
 * back mixed with the earlier job's (seen 2026-12-03: the canceled job's
 * log over REST never showed the lines it had just printed). The job
 * output folder is bound from `<dir>/job-output`, the worker runs with
 * `--worker-dir <dir>/worker`.
 *
 * No lava-publisher runs (its websocket at /ws/ answers 404 through
 * gunicorn): lava-worker logs "Connection failed: 404 ... Reconnecting in
 * 60s" and learns of new and canceled jobs on its ping instead, every 20 s
 * (lava-worker's default --ping-interval). A cancel therefore takes effect
 * up to ~20 s after the server accepted it.
 */

/** Where the server's folder is bound inside the chroot. */
export const SERVER_INSIDE = '/wb-srv';

/** Name of the worker. */
export const WORKER_NAME = 'wb-worker';

/** lava-server's job output folder (MEDIA_ROOT/job-output, lava_server/settings/common.py). */
export const JOB_OUTPUT_DIR = '/var/lib/lava-server/default/media/job-output';

/** The supervisor script run in the chroot ($1 pg port, $2 http port, $3 device names as `name:type,...`). */
export const SERVER_SCRIPT = `
set -eu
pgport=$1; httpport=$2; devices=$3
S=${SERVER_INSIDE}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$S/pg" "$S/pgrun" && chown postgres:postgres "$S/pg" "$S/pgrun" && chmod 700 "$S/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$S/pg" -A trust -U postgres > "$S/initdb.log" 2>&1
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$S/pg" -l "$S/pgrun/postgres.log" -w -o "-c listen_addresses=127.0.0.1 -p $pgport -k $S/pgrun" start > /dev/null
runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$pgport" -U postgres lava
export DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/lava" SECRET_KEY="$(cat "$S/secret")" ALLOWED_HOSTS=127.0.0.1,localhost
lava-server manage migrate --noinput > "$S/migrate.log" 2>&1
lava-server manage users add --superuser --staff wbadmin > /dev/null
lava-server manage tokens add --user wbadmin --secret "$(cat "$S/token")" > /dev/null
lava-server manage workers add ${WORKER_NAME} | sed -n 's/^Token: //p' > "$S/worker-token"
for d in $(echo "$devices" | tr ',' ' '); do
  t=\${d#*:}; n=\${d%%:*}
  lava-server manage device-types list | grep -qw "$t" || lava-server manage device-types add "$t" > /dev/null
  lava-server manage devices add --device-type "$t" --worker ${WORKER_NAME} "$n"
done
gunicorn3 lava_server.wsgi --bind "127.0.0.1:$httpport" --workers 2 --worker-class gthread --timeout 120 --log-file "$S/gunicorn.log" &
lava-server manage lava-scheduler --log-file "$S/scheduler.log" &
mkdir -p "$S/worker"
lava-worker --name ${WORKER_NAME} --url "http://127.0.0.1:$httpport/" --token "$(cat "$S/worker-token")" --worker-dir "$S/worker" --log-file "$S/worker.log" --level DEBUG &
echo WB-SERVER-STARTED
trap 'kill $(jobs -p) 2>/dev/null; runuser -u postgres -- "$PGBIN/pg_ctl" -D "$S/pg" -m fast stop > /dev/null; exit 0' TERM INT
wait
`;

/** A running local LAVA instance. */
export interface LocalLavaServer {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** API token of the admin user (keep it out of logs). */
  token: string;
  /** Host folder with the logs (postgres, migrate, gunicorn, scheduler, worker). */
  dir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      ok(true);
    });
    c.once('error', () => ok(false));
  });
}

/** Options of {@link startLocalLavaServer}. */
export interface LocalServerOptions {
  chroot: Pick<FarmChroot, 'root'>;
  /** Host folder for the server's state and logs (created; keep it on a local filesystem). */
  dir: string;
  /** Devices: name -> dictionary (rendered by the server with its device-type templates). */
  devices: Record<string, DeviceDict>;
  /** Files copied into the server folder (visible inside as `/wb-srv/<name>`), mode 0600: e.g. the SSH identity. */
  files?: Record<string, string>;
  runner: Runner;
  log?: (m: string) => void;
  /** How long to wait for the REST API, ms (default 600000: migrate takes minutes on a loaded host). */
  startTimeoutMs?: number;
}

/**
 * Starts the instance and resolves when `GET /api/v0.2/system/version/`
 * answers and the worker is online.
 * @throws WorkbenchError E_LAVA_SERVER_START with the tail of the failing step's log.
 */
export async function startLocalLavaServer(o: LocalServerOptions): Promise<LocalLavaServer> {
  requireRoot('the local LAVA server');
  const runner = o.runner;
  await mkdir(join(o.dir, 'devices'), { recursive: true });
  await mkdir(join(o.dir, 'job-output'), { recursive: true });
  const token = randomBytes(24).toString('hex');
  await writeFile(join(o.dir, 'token'), token, { mode: 0o600 });
  await writeFile(join(o.dir, 'secret'), randomBytes(32).toString('hex'), { mode: 0o600 });
  for (const [name, dict] of Object.entries(o.devices)) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new WorkbenchError('E_LAVA_DEVICE', `device name ${name} is not a LAVA hostname`);
    await writeFile(join(o.dir, 'devices', `${name}.jinja2`), deviceDictText(dict));
  }
  for (const [name, src] of Object.entries(o.files ?? {})) {
    await copyFile(src, join(o.dir, name));
    await chmod(join(o.dir, name), 0o600);
  }
  const pgPort = await freePort();
  const httpPort = await freePort();
  const devices = Object.entries(o.devices)
    .map(([n, d]) => `${n}:${d.extends}`)
    .join(',');
  const argv = chrootArgv(o.chroot.root, ['sh', '-c', SERVER_SCRIPT, 'wb-lava-server', String(pgPort), String(httpPort), devices], {
    binds: [
      { host: '/dev', inside: '/dev' },
      { host: '/dev/pts', inside: '/dev/pts' },
      { host: o.dir, inside: SERVER_INSIDE },
      { host: join(o.dir, 'devices'), inside: '/etc/lava-server/dispatcher-config/devices' },
      { host: join(o.dir, 'job-output'), inside: JOB_OUTPUT_DIR },
    ],
  });
  // stopping kills unshare; --kill-child passes SIGTERM on to the namespace's first process (the script), which stops the rest
  argv.splice(1, 0, '--kill-child=SIGTERM');
  const ac = new AbortController();
  let exited: string | undefined;
  let out = '';
  const proc = runner
    .run(argv, { allowFailure: true, signal: ac.signal, onStdout: (s) => (out += s), onStderr: (s) => (out += s) })
    .then((r) => {
      exited = `exit ${r.exitCode}`;
    })
    .catch((e: Error) => {
      exited = e.message;
    });
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    ac.abort();
    await proc;
  };
  const t0 = Date.now();
  try {
    for (;;) {
      if (exited)
        throw new WorkbenchError('E_LAVA_SERVER_START', `the LAVA server setup ended (${exited}):\n${tail(out, 15)}`, {
          hint: `see the logs in ${o.dir}`,
        });
      if (Date.now() - t0 > (o.startTimeoutMs ?? 600_000))
        throw new WorkbenchError('E_LAVA_SERVER_START', `the LAVA server did not answer within ${Math.round((Date.now() - t0) / 1000)} s`, {
          hint: `see the logs in ${o.dir}`,
        });
      if (out.includes('WB-SERVER-STARTED') && (await portOpen(httpPort))) {
        const r = await fetch(`${url}/api/v0.2/workers/${WORKER_NAME}/`, { headers: { authorization: `Token ${token}` } }).catch(() => undefined);
        if (r?.status === 200) {
          const w = (await r.json()) as { state?: string };
          if (w.state === 'Online') break;
        }
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  o.log?.(`LAVA server on ${url} (PostgreSQL on 127.0.0.1:${pgPort}, worker ${WORKER_NAME} online) after ${Math.round((Date.now() - t0) / 1000)} s`);
  return { url, token, dir: o.dir, stop };
}

/** The tail of one of the server's logs (tests print it when something fails). */
export async function serverLogTail(dir: string, name: string, lines = 30): Promise<string> {
  return tail(await readFile(join(dir, name), 'utf8').catch(() => ''), lines);
}
