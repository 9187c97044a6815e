import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';

/** A running artefact server. */
export interface ArtefactServer {
  /** Port on 127.0.0.1. */
  port: number;
  /** Paths requested so far, with the status answered (tests, logs). */
  requests: { path: string; status: number }[];
  close(): Promise<void>;
}

/**
 * Serves the files under `root` read-only over HTTP/1.1 on 127.0.0.1 (a
 * QEMU guest on user networking reaches it as 10.0.2.2): GET and HEAD of
 * regular files only, no listing, nothing outside `root` (`..` and encoded
 * separators are refused with 404).
 */
export async function startArtefactServer(root: string, port = 0): Promise<ArtefactServer> {
  const base = resolve(root);
  const requests: ArtefactServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const done = (status: number) => {
      requests.push({ path: req.url ?? '', status });
      res.statusCode = status;
      res.end();
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(405);
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return done(400);
    }
    if (rel.split('/').some((p) => p === '..') || rel.includes('\0')) return done(404);
    const file = join(base, rel);
    if (!file.startsWith(base + sep)) return done(404);
    stat(file).then(
      (st) => {
        if (!st.isFile()) return done(404);
        requests.push({ path: rel, status: 200 });
        res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
        if (req.method === 'HEAD') return res.end();
        createReadStream(file)
          .on('error', () => res.destroy())
          .pipe(res);
      },
      () => done(404),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
