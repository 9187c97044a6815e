/**
 * Benchmark: the MPP rig from an empty cache, then from a warm one, then one recording.
 *
 *   node --import tsx harness/bench/mpp-build.ts [VECTOR=p0-keyframe-only] [--keep]
 *
 * Uses a private cache folder (removed afterwards unless --keep), so the
 * shared cache is neither used nor disturbed: builds the MPP chroot
 * (mmdebstrap, sid), verifies and extracts the MPP source from the mirror,
 * builds mpi_dec_test and the shim, and prints the time of each step, the
 * same again with everything cached, and one `mpp-record` of VECTOR (the
 * vector is taken from the shared vp9-features store). Prints the machine
 * load, since the machine is shared. Needs root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMppRig } from '../src/registers/mppBuild.ts';
import { ensureMppChroot } from '../src/registers/mppChroot.ts';
import { ensureMppSource } from '../src/registers/mppSource.ts';
import { recordMpp, resolveVector } from '../src/registers/mppRecord.ts';
import { ExecaRunner } from '../src/core/runner.ts';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const vector = args.find((a) => !a.startsWith('--')) ?? 'p0-keyframe-only';
const cacheRoot = mkdtempSync(join(tmpdir(), 'wb-bench-mpp-'));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

try {
  console.log(`private cache ${cacheRoot}; load average ${load()}`);
  let t = Date.now();
  await ensureMppChroot({ runner: new ExecaRunner(), cacheRoot });
  console.log(`chroot (mmdebstrap sid + cmake, g++, libssl-dev): ${s(Date.now() - t)}; load ${load()}`);
  t = Date.now();
  const src = await ensureMppSource({ cacheRoot });
  console.log(`MPP source (${src.origin}, verified + extracted): ${s(Date.now() - t)}`);
  t = Date.now();
  const rig = await ensureMppRig({ runner: new ExecaRunner(), cacheRoot });
  console.log(`MPP build (mpi_dec_test, -j2) + shim: ${s(Date.now() - t)} (MPP alone ${rig.buildSeconds?.toFixed(1)} s); load ${load()}`);
  t = Date.now();
  await ensureMppRig({ runner: new ExecaRunner(), cacheRoot });
  console.log(`everything again, cached: ${s(Date.now() - t)}`);
  const path = await resolveVector(vector, new ExecaRunner());
  t = Date.now();
  const r = await recordMpp(path, { runner: new ExecaRunner(), rig, out: join(cacheRoot, 'rec') });
  console.log(`mpp-record ${vector}: ${r.records.length} frames in ${s(Date.now() - t)}; load ${load()}`);
} finally {
  if (!keep) rmSync(cacheRoot, { recursive: true, force: true });
}
