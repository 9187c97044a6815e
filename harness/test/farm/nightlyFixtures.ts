/**
 * Nights for the nightly tests: each board's run is a LAVA log in
 * lava-dispatcher 2026.10's shape (one JSON flow mapping per line, as in
 * fixtures/lava-run-vboard-visl.logs.yaml), collected by the real
 * collectJob into a real report folder; frame hashes and MD5s are computed
 * with node's crypto over known frame bytes, so the verdicts and diffs
 * follow from the bytes each night decoded, not from the code under test.
 */
import type { Bundle } from '../../src/farm/bundle.ts';
import { collectJob } from '../../src/farm/collect.ts';
import type { NightlyBoard, NightlyPlan, RunBoard } from '../../src/farm/nightly.ts';
import { parseLavaLog } from '../../src/farm/results.ts';
import { frame, md5, reference, sha, testBundle } from './lavaFixtures.ts';

export const REF: Record<string, Buffer[]> = { a: [frame(1), frame(2)], b: [frame(3), frame(4)], c: [frame(5), frame(6)] };

export const KERNEL1 = { baseCommit: '1'.repeat(40), seriesCommit: 'a'.repeat(40) };
export const KERNEL2 = { baseCommit: '1'.repeat(40), seriesCommit: 'b'.repeat(40) };

function bundle(board: string, k: typeof KERNEL1): Bundle {
  return testBundle(Object.keys(REF), {
    board,
    kernel: {
      manifest: 'debian-sid-7.2',
      ...k,
      seriesHash: 'c'.repeat(64),
      patches: [{ file: '0001-x.patch', subject: 'x', sha256: 'd'.repeat(64) }],
      diagnostics: { errors: 0, warnings: 0 },
    },
  });
}

/** A LAVA job log in which the board decoded `out[case]` for each vector (undefined: the job died before it). */
function lavaLog(start: Date, out: Record<string, Buffer[] | undefined>, health: 'pass' | 'fail' = 'pass'): string {
  let t = 0;
  const e = (lvl: string, msg: unknown) => `- ${JSON.stringify({ dt: new Date(start.getTime() + 1000 * t++).toISOString(), lvl, msg })}`;
  const lines = [
    e('info', 'lava-dispatcher, installed at version: 2026.10'),
    e('target', 'WB-MODULES installed /lib/modules/x/updates/visl.ko '),
    e('results', { definition: '0_vp9wb', case: 'modules-install', result: 'pass' }),
    e('target', 'WB-ELEMENT v4l2slvp9dec /dev/media0 /dev/video0 rkvdec'),
    e('results', { definition: '0_vp9wb', case: 'decoder-probe', result: 'pass' }),
  ];
  for (const [c, frames] of Object.entries(out)) {
    if (!frames) continue;
    const all = Buffer.concat(frames);
    lines.push(e('target', `WB-DECODE ${c}-ivf rc=0 bytes=${all.length} md5=${md5(all)}`));
    frames.forEach((b, i) => lines.push(e('target', `WB-FRAME ${c}-ivf ${i} ${b.length} ${sha(b)}`)));
  }
  lines.push(
    e('results', {
      definition: 'lava',
      case: 'job',
      result: health,
      ...(health === 'fail' ? { error_type: 'Infrastructure', error_msg: 'Connection closed' } : {}),
    }),
  );
  return lines.join('\n') + '\n';
}

const board = (name: string): NightlyBoard => ({ name, profile: 'ssh', run: 'local', token_env: 'LAVA_TOKEN', tags: [], timeout: 300 });

/** A RunBoard that collects the given log for each board (the real collect, into the real reports root). */
export function runBoard(
  root: string,
  night: Date,
  logs: Record<string, { out: Record<string, Buffer[] | undefined>; k: typeof KERNEL1; health?: 'pass' | 'fail' } | Error>,
): RunBoard {
  return async (b) => {
    const l = logs[b.name];
    if (!l) throw new Error(`no log for ${b.name}`);
    if (l instanceof Error) throw l;
    const bu = bundle(b.name, l.k);
    const collected = await collectJob({
      bundle: bu,
      bundleDir: '/nonexistent',
      log: parseLavaLog(lavaLog(night, l.out, l.health)),
      source: { jobId: 7, via: 'test', commands: [] },
      references: new Map(Object.entries(REF).map(([n, f]) => [`${n}.ivf`, reference(`${n}.ivf`, f)])),
      command: 'workbench nightly',
      reportsRoot: root,
    });
    return { collected, bundle: bu, via: 'lava-run (local)', jobId: '7' };
  };
}

export const plan = (...names: string[]): NightlyPlan => ({ board: names.map(board) });
