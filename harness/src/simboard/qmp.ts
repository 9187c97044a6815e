import { createConnection } from 'node:net';
import { WorkbenchError } from '../core/errors.ts';

/**
 * The smallest QMP client the simboard needs: connect to QEMU's unix socket,
 * leave capabilities negotiation, run commands one after the other, close.
 * Protocol: QEMU's docs/interop/qmp-spec.rst (greeting, `qmp_capabilities`,
 * one JSON object per command, `return` or `error`; events interleave and
 * are skipped).
 * @returns the `return` value of each command, in order.
 * @throws WorkbenchError E_QMP naming the socket and the command (QEMU's
 *   error class and description) or the timeout.
 */
export function qmpRun(socket: string, commands: { execute: string; arguments?: Record<string, unknown> }[], timeoutMs = 5_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    const results: unknown[] = [];
    let buf = '';
    let sent = -1; // -1: waiting for the greeting; 0: qmp_capabilities sent; n: commands[n - 1] sent
    const fail = (msg: string) => {
      clearTimeout(timer);
      conn.destroy();
      reject(new WorkbenchError('E_QMP', `QMP ${socket}: ${msg}`, { hint: 'is the simboard running? (`workbench simboard status`)' }));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const send = () => {
      const c = sent === 0 ? { execute: 'qmp_capabilities' } : commands[sent - 1]!;
      conn.write(JSON.stringify(c) + '\n');
    };
    conn.on('error', (e) => fail(e.message));
    conn.on('data', (d) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: { QMP?: unknown; return?: unknown; error?: { class?: string; desc?: string }; event?: string };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return fail(`not JSON: ${line.slice(0, 200)}`);
        }
        if (msg.event) continue;
        if (msg.error) return fail(`${sent > 0 ? commands[sent - 1]!.execute : 'qmp_capabilities'}: ${msg.error.class ?? ''} ${msg.error.desc ?? ''}`.trim());
        if (sent === -1 && !msg.QMP) return fail('no QMP greeting');
        if (sent > 0) results.push(msg.return);
        if (sent === commands.length) {
          clearTimeout(timer);
          conn.end();
          return resolve(results);
        }
        sent++;
        send();
      }
    });
  });
}
