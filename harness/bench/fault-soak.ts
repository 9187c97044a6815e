/**
 * Fault soak: N deploy -> verify -> rollback cycles of visl.ko on a private
 * vboard, one fault per cycle, then the next plain command must repair.
 *
 *   node --import tsx harness/bench/fault-soak.ts [--cycles 50] [--seed 1] [--keep]
 *
 * Faults (kind @ phase; the phase is random among preflight, backup, upload,
 * install, reload, verify, rollback for the first four):
 * - ssh-cut:     the SSH connection dies under the deploy (a loopback TCP
 *                proxy between the workbench and the board drops every
 *                connection and refuses new ones until the command gave up);
 * - sigkill:     the workbench process (`node harness/bin/workbench.js
 *                deploy|rollback`, a child) is killed with SIGKILL;
 * - power-loss:  the guest loses power (QEMU killed with SIGKILL), then is
 *                switched on again (`vboard up`);
 * - disk-full:   the board's root filesystem (module_dir, backups, journal)
 *                is filled (fallocate) and freed once the command ended;
 * - load-fail:   a module the kernel refuses (wrong struct module size) @ reload;
 * - load-warn:   an extra tiny module whose init WARNs @ verify.
 * Deploy faults are timed with the deploy CLI's WORKBENCH_DEPLOY_PAUSE hook
 * (it waits at the start of the chosen phase); a rollback fault lands when
 * `workbench rollback` prints that it restores the backup.
 *
 * After each fault the next plain command (`workbench backups list`, or the
 * next `workbench deploy`) must repair; then the soak checks, over its own
 * SSH connection: visl is loaded, live and bound to visl.0, the installed
 * visl.ko is the one the backups say (the newest active deploy's, else the
 * original), no journal is left on the board nor on this machine, every
 * backup has its record, and no backup disappeared (other than the designed
 * pruning of old, inactive ones beyond KEEP_BACKUPS).
 *
 * The vboard is private (WORKBENCH_STATE_DIR/WORKBENCH_CONFIG_DIR under a
 * fresh directory next to the cache), reached by the deploys as board `soak`
 * (a boards.toml entry pointing at the proxy), so the shared board is never
 * touched. Prints one line per cycle and a table: faults by kind and phase,
 * repairs, seconds to repair (median, max), boards left broken, backups lost.
 *
 * Measured 2026-12-02 15:37-17:13 on the 2-core build machine (load
 * average 5-10: the arm64 simboard's TCG guest and another helper's jobs;
 * the private vboard under TCG), seed 1, `--cycles 50`, the code of 4074a84
 * (95.9 min, 1.9 min per cycle):
 *
 *   fault \ phase preflight backup upload install reload verify rollback total broken
 *   ssh-cut              .      2      2       1      .      2        2     9      0
 *   sigkill              1      .      1       1      3      .        3     9      0
 *   power-loss           2      1      3       .      .      .        2     8      0
 *   disk-full            1      .      .       1      2      .        4     8      0
 *   load-fail            .      .      .       .      8      .        .     8      0
 *   load-warn            .      .      .       .      .      8        .     8      0
 *   repairs: 26 commands found and repaired an interrupted operation, 24 found nothing
 *   seconds to repair: median 16.2, max 89.1 (repairing commands: median 17.0, max 89.1)
 *   boards left broken: 0; backups lost: 0
 *
 * The run before it (same seed, 25 cycles, before 4074a84) left the board
 * broken 3 times, all target disk full: @ rollback, `workbench rollback`
 * exited 0 with visl.ko restored but the record still `active` (cycles 4,
 * 15), and @ reload `deploy` exited 0 leaving a backup without record
 * (cycle 14). The journal and record writes now fail loudly and keep the
 * journal (test/deploy/diskFull.int.test.ts).
 *
 * An earlier trial (seed 7, before the dependency-graph unload landed): a
 * load-fail cycle and a sigkill @ upload cycle (repaired by the next deploy
 * in 97.6 s), both ok. The repair times are dominated by starting a CLI
 * process and SSH round trips to a starved TCG guest, not by the repair.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureEntry } from '../src/core/cache.ts';
import { cacheRoot, projectRoot } from '../src/core/paths.ts';
import { listBackupsAndJournal, KEEP_BACKUPS, type BackupListing } from '../src/deploy/backup.ts';
import { loadLocalJournal, loadRemoteJournal } from '../src/deploy/journal.ts';
import { SshTarget } from '../src/target/ssh.ts';
import { ensureToolbox } from '../src/toolbox/toolbox.ts';
import { vboardConnection, vboardDown, vboardUp } from '../src/vboard/vboard.ts';
import { vboardPaths } from '../src/vboard/state.ts';
import { ExecaRunner } from '../src/core/runner.ts';
import { artifact, brokenVariant, loadableVariant, vislBuild } from '../test/deploy/testModules.ts';
import { TcpProxy } from '../test/target/tcpProxy.ts';

/** Kinds of fault. */
export const FAULT_KINDS = ['ssh-cut', 'sigkill', 'power-loss', 'disk-full', 'load-fail', 'load-warn'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Phases a timed fault can hit. */
export const PHASES = ['preflight', 'backup', 'upload', 'install', 'reload', 'verify', 'rollback'] as const;
export type Phase = (typeof PHASES)[number];

/** One cycle's outcome. */
export interface CycleResult {
  cycle: number;
  kind: FaultKind;
  phase: Phase;
  /** How the faulted command ended (exit code or signal). */
  faultedExit: string;
  /** The repair command and whether it found something to repair. */
  repairCommand: string;
  repaired: boolean;
  /** Wall time of the repair command, s. */
  repairSeconds: number;
  /** What the checks found wrong (empty: the board is fine). */
  problems: string[];
  /** Backup ids that disappeared without being pruned by design. */
  lost: string[];
  /** Notes (e.g. visl not loaded after a power loss). */
  notes: string[];
}

/** Options of {@link runSoak}. */
export interface SoakOptions {
  cycles: number;
  seed: number;
  /** Progress lines. */
  log?: (m: string) => void;
  /** Keep the private vboard running and its directory at the end. */
  keep?: boolean;
  /** Called after every cycle with the results so far (e.g. to save the table of a long run). */
  onCycle?: (done: CycleResult[]) => void;
  /**
   * Which cycles of the schedule of `cycles` to run (0-based; default all):
   * parallel workers (`--jobs`) each run a share of one schedule.
   */
  only?: number[];
}

/** Result of {@link runSoak}. */
export interface SoakResult {
  cycles: CycleResult[];
  broken: number;
  lost: number;
  table: string;
  dir: string;
}

/** mulberry32: a small seeded PRNG (public domain), so a seed replays the same schedule. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The fault schedule: every kind equally often (round robin, then shuffled),
 * random phases for the timed kinds; load-fail hits reload, load-warn verify.
 */
export function schedule(cycles: number, seed: number): { kind: FaultKind; phase: Phase }[] {
  const r = rng(seed);
  const kinds: FaultKind[] = Array.from({ length: cycles }, (_, i) => FAULT_KINDS[i % FAULT_KINDS.length]!);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds.map((kind) => ({
    kind,
    phase: kind === 'load-fail' ? 'reload' : kind === 'load-warn' ? 'verify' : PHASES[Math.floor(r() * PHASES.length)]!,
  }));
}

const CLI = join(projectRoot(), 'harness', 'bin', 'workbench.js');
const BOARD = 'soak';

/** A tiny module whose init WARNs (drivers must not; this one is for the soak), built in the toolbox, cached. */
async function warnModule(log: (m: string) => void): Promise<string> {
  const tb = await ensureToolbox({ log, runner: new ExecaRunner() });
  const src = [
    '// SPDX-License-Identifier: GPL-2.0',
    '#include <linux/module.h>',
    '#include <linux/bug.h>',
    '',
    'static int __init wbsoakwarn_init(void)',
    '{',
    '\tWARN(1, "wbsoakwarn: warning on load (workbench fault soak)\\n");',
    '\treturn 0;',
    '}',
    '',
    'static void __exit wbsoakwarn_exit(void)',
    '{',
    '}',
    '',
    'module_init(wbsoakwarn_init);',
    'module_exit(wbsoakwarn_exit);',
    'MODULE_LICENSE("GPL");',
    'MODULE_DESCRIPTION("workbench fault soak: WARN on load");',
    '',
  ].join('\n');
  const e = await ensureEntry('soak-modules', { toolbox: tb.key, release: tb.kernelRelease, src }, async (tmp) => {
    await writeFile(join(tmp, 'wbsoakwarn.c'), src);
    await writeFile(join(tmp, 'Kbuild'), 'obj-m := wbsoakwarn.o\n');
    await tb.exec(['make', '-C', tb.headersDir, 'M=/wb/mod', 'modules'], { binds: [{ host: tmp, inside: '/wb/mod' }], timeoutMs: 10 * 60_000 });
    return { files: ['wbsoakwarn.ko'] };
  });
  return join(e.dir, 'wbsoakwarn.ko');
}

/** A child `workbench` command with its output collected and a callback per stderr line. */
interface Child {
  proc: ChildProcess;
  out: string;
  err: string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(args: string[], env: Record<string, string>, onLine?: (l: string) => void): Child {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = { proc, out: '', err: '', done: undefined as never };
  let partial = '';
  proc.stdout!.on('data', (b: Buffer) => (c.out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => {
    const s = b.toString();
    c.err += s;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) onLine?.(l);
  });
  c.done = new Promise((res) => proc.on('close', (code, signal) => res({ code, signal })));
  return c;
}

function exitText(e: { code: number | null; signal: NodeJS.Signals | null }): string {
  return e.signal ? e.signal : `exit ${e.code}`;
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Runs the soak; see the file comment. */
export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[soak] ${m}\n`));
  const base = join(dirname(cacheRoot()), 'workbench-soak');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'run-'));
  const saved = { state: process.env.WORKBENCH_STATE_DIR, config: process.env.WORKBENCH_CONFIG_DIR };
  process.env.WORKBENCH_STATE_DIR = join(dir, 'state');
  process.env.WORKBENCH_CONFIG_DIR = join(dir, 'config');
  // A fresh state directory would probe KVM again on every boot: the vboard runs TCG here unless told otherwise.
  const savedAccel = process.env.WORKBENCH_VBOARD_ACCEL;
  process.env.WORKBENCH_VBOARD_ACCEL ??= 'tcg';
  const childEnv = { WORKBENCH_STATE_DIR: process.env.WORKBENCH_STATE_DIR, WORKBENCH_CONFIG_DIR: process.env.WORKBENCH_CONFIG_DIR };
  const results: CycleResult[] = [];
  let proxy: TcpProxy | undefined;
  let check: SshTarget | undefined;
  try {
    const { visl } = await vislBuild();
    const warnKo = await warnModule(log);
    log(`private vboard in ${dir}`);
    await vboardUp({ log, bootTimeoutS: 900, runner: new ExecaRunner() });
    let conn = vboardConnection();
    proxy = new TcpProxy('127.0.0.1', conn.port);
    const proxyPort = await proxy.start();
    // The deploys reach the board as `soak`, through the proxy; host key checked against the vboard's own.
    await mkdir(join(dir, 'config'), { recursive: true });
    copyFileSync(conn.knownHostsFile, join(dir, 'config', 'known_hosts'));
    writeFileSync(
      join(dir, 'config', 'boards.toml'),
      [
        `[board.${BOARD}]`,
        'host = "127.0.0.1"',
        `port = ${proxyPort}`,
        `user = "${conn.user}"`,
        `identity = "${conn.identityFile}"`,
        `host_key_alias = "${conn.hostKeyAlias}"`,
        'flavour = "vboard"',
        '',
      ].join('\n'),
    );
    const connect = () => {
      conn = vboardConnection();
      proxy!.retarget(conn.port);
      return new SshTarget({
        name: 'soak-check',
        host: conn.host,
        port: conn.port,
        user: conn.user,
        identityFile: conn.identityFile,
        knownHostsFile: conn.knownHostsFile,
        hostKeyAlias: conn.hostKeyAlias,
      });
    };
    check = connect();
    const sh = async (script: string, ...args: string[]) =>
      (await check!.exec(['sh', '-c', script, 'soak', ...args], { timeoutMs: 120_000, allowFailure: true })).stdout.trim();
    await sh('[ -d /sys/module/visl ] || modprobe visl');
    const release = await check.kernelRelease();
    const dest = `/lib/modules/${release}/updates/visl.ko`;
    const shaOf = async (p: string) => (await sh('sha256sum "$1" 2>/dev/null || echo missing', p)).split(/\s+/)[0]!;
    const originalSha = await shaOf(dest);
    log(`board ${release}, visl.ko ${originalSha.slice(0, 12)}; proxy 127.0.0.1:${proxyPort} -> ${conn.port}`);

    /** Board state as the backups describe it, and as it is. */
    const inspect = async (): Promise<{ listing: BackupListing[]; problems: string[]; notes: string[] }> => {
      const problems: string[] = [];
      const notes: string[] = [];
      const { backups, journalPending } = await listBackupsAndJournal(check!);
      const remote = await loadRemoteJournal(check!);
      const local = await loadLocalJournal(BOARD);
      if (journalPending || remote.journal || remote.corrupt)
        problems.push(
          `journal left on the board (${remote.journal ? `${remote.journal.kind} ${remote.journal.id} phase ${remote.journal.phase}` : (remote.corrupt ?? 'pending')})`,
        );
      if (local) problems.push(`journal left on this machine (${local.kind} ${local.id} phase ${local.phase})`);
      for (const b of backups) if (!b.record) problems.push(`backup ${b.id} has no record (partial)`);
      const active = backups.find((b) => b.record?.state === 'active' && b.record.replaced.some((e) => e.module === 'visl'));
      const want = active ? active.record!.replaced.find((e) => e.module === 'visl')!.sha256 : originalSha;
      const have = await shaOf(dest);
      if (have !== want)
        problems.push(
          `installed visl.ko is ${have.slice(0, 12)}, the backups say ${want.slice(0, 12)} (${active ? `active deploy ${active.id}` : 'original'})`,
        );
      const addedWarn = await sh('ls /lib/modules/$(uname -r)/updates/wbsoakwarn.ko 2>/dev/null; [ -d /sys/module/wbsoakwarn ] && echo loaded-wbsoakwarn');
      if (addedWarn && !backups.some((b) => b.record?.state === 'active' && b.record.replaced.some((e) => e.module === 'wbsoakwarn'))) {
        problems.push(`the WARN test module is still on the board with no active deploy: ${addedWarn.replace(/\n/g, ', ')}`);
      }
      let state = await sh('cat /sys/module/visl/initstate 2>/dev/null || echo absent');
      if (state === 'absent') {
        // After a power loss nothing loads visl at boot: load it as a user would, it must work.
        notes.push('visl not loaded (board rebooted): modprobe visl');
        const m = await check!.exec(['modprobe', 'visl'], { allowFailure: true, timeoutMs: 120_000 });
        if (m.exitCode !== 0) problems.push(`modprobe visl failed: ${m.stderr.trim()}`);
        state = await sh('cat /sys/module/visl/initstate 2>/dev/null || echo absent');
      }
      if (state !== 'live') problems.push(`visl is ${state}`);
      if ((await sh('[ -e /sys/bus/platform/drivers/visl/visl.0 ] && echo bound || echo unbound')) !== 'bound') problems.push('visl.0 is not bound to visl');
      return { listing: backups, problems, notes };
    };

    /** Backups that vanished between two listings and were not pruned by design. */
    const lostBetween = (before: BackupListing[], after: BackupListing[]): string[] => {
      const now = new Set(after.map((b) => b.id));
      const recent = before.filter((b) => b.record).slice(0, KEEP_BACKUPS - 2);
      return before.filter((b) => !now.has(b.id) && (b.record?.state === 'active' || recent.includes(b))).map((b) => b.id);
    };

    const plan = schedule(opts.cycles, opts.seed);
    for (const i of opts.only ?? plan.map((_, k) => k)) {
      const { kind, phase } = plan[i]!;
      const r = rng(opts.seed * 1000 + i);
      const tag = String.fromCharCode(65 + (i % 26));
      const good = loadableVariant(visl, tag);
      const before = (await inspect()).listing;
      const notes: string[] = [];
      let faultedExit = '';
      let filled = false;
      let powerLost = false;
      const inject = async (c: Child) => {
        if (kind === 'ssh-cut') proxy!.cut(true);
        else if (kind === 'sigkill') c.proc.kill('SIGKILL');
        else if (kind === 'power-loss') {
          const pid = Number(readFileSync(vboardPaths().pidFile, 'utf8').trim());
          process.kill(pid, 'SIGKILL');
          powerLost = true;
        } else if (kind === 'disk-full') {
          await sh(
            'a=$(df --output=avail -B1 / | tail -1); fallocate -l $((a - 65536)) /soak-fill 2>/dev/null; dd if=/dev/zero of=/soak-fill2 bs=4k 2>/dev/null; sync; true',
          );
          filled = true;
        }
      };
      /** Runs a workbench command, injecting the fault when `trigger` matches a stderr line (once). */
      const faulted = async (args: string[], env: Record<string, string>, trigger: RegExp | undefined): Promise<Child> => {
        let fired = false;
        let injecting: Promise<void> = Promise.resolve();
        const c = runCli(args, { ...childEnv, ...env }, (l) => {
          if (trigger && !fired && trigger.test(l)) {
            fired = true;
            injecting = new Promise<void>((res) => setTimeout(res, Math.floor(r() * 300))).then(() => inject(c));
          }
        });
        const limit = setTimeout(() => c.proc.kill('SIGKILL'), 10 * 60_000);
        const e = await c.done;
        clearTimeout(limit);
        await injecting;
        faultedExit = `${exitText(e)}${trigger && !fired ? ' (fault not injected: the trigger never came)' : ''}`;
        if (trigger && !fired) notes.push(`trigger ${trigger} never seen`);
        return c;
      };
      const deployArgs = (mods: string[]) => ['deploy', '--board', BOARD, '--modules', ...mods, '--json'];

      // 1. deploy (faulted unless the fault is for the rollback), 2. verify, 3. rollback (faulted for phase rollback).
      if (kind === 'load-fail') await faulted(deployArgs([brokenVariant(visl)]), {}, undefined);
      else if (kind === 'load-warn') await faulted(deployArgs([good, warnKo]), {}, undefined);
      else if (phase !== 'rollback')
        await faulted(deployArgs([good]), { WORKBENCH_DEPLOY_PAUSE: `${phase}:1500` }, new RegExp(`^\\[deploy\\] phase ${phase}$`));
      else {
        const d = runCli(deployArgs([good]), childEnv);
        const e = await d.done;
        if (e.code !== 0) notes.push(`deploy before the rollback fault failed: ${d.err.trim().split('\n').slice(-1)[0]}`);
        else if ((await shaOf(dest)) !== artifact(good).sha256) notes.push('verify: the deployed visl.ko is not installed');
        await faulted(['rollback', '--board', BOARD], {}, /restoring backup/);
      }
      // The fault is over: the network comes back, the disk is freed, the board is switched on again.
      proxy.restore();
      if (powerLost) {
        await check.close();
        await vboardDown({ log }).catch(() => undefined);
        await vboardUp({ log, bootTimeoutS: 900, runner: new ExecaRunner() });
        check = connect();
      }
      if (filled) await sh('rm -f /soak-fill /soak-fill2; sync');

      // The next plain command repairs.
      const viaDeploy = r() < 0.35;
      const t0 = Date.now();
      const rep = viaDeploy
        ? runCli(deployArgs([loadableVariant(visl, String.fromCharCode(97 + (i % 26)))]), childEnv)
        : runCli(['backups', 'list', '--board', BOARD], childEnv);
      const re = await rep.done;
      const repairSeconds = (Date.now() - t0) / 1000;
      const repaired = /interrupted|repair|stale lock/i.test(rep.err);
      const problems: string[] = [];
      if (re.code !== 0)
        problems.push(`repair command ${viaDeploy ? 'deploy' : 'backups list'} failed (${exitText(re)}): ${rep.err.trim().split('\n').slice(-2).join(' | ')}`);
      const after = await inspect();
      problems.push(...after.problems);
      notes.push(...after.notes);
      const lost = lostBetween(before, after.listing);
      // Back to the start for the next cycle: undo what is still active (not counted as a repair).
      if (!problems.length && after.listing.some((b) => b.record?.state === 'active')) {
        const undo = runCli(['rollback', '--board', BOARD], childEnv);
        const ue = await undo.done;
        if (ue.code !== 0) problems.push(`cleanup rollback failed (${exitText(ue)}): ${undo.err.trim().split('\n').slice(-2).join(' | ')}`);
        else {
          const end = await inspect();
          problems.push(...end.problems.map((p) => `after cleanup rollback: ${p}`));
        }
      }
      const res: CycleResult = {
        cycle: i + 1,
        kind,
        phase,
        faultedExit,
        repairCommand: viaDeploy ? 'deploy' : 'backups list',
        repaired,
        repairSeconds,
        problems,
        lost,
        notes,
      };
      results.push(res);
      opts.onCycle?.(results);
      log(
        `cycle ${String(i + 1).padStart(3)} ${kind.padEnd(10)} @ ${phase.padEnd(9)} faulted: ${faultedExit.padEnd(8)} repair: ${res.repairCommand.padEnd(12)} ${repaired ? 'repaired' : 'nothing '} ${repairSeconds.toFixed(1).padStart(5)} s  ${problems.length ? `BROKEN: ${problems.join('; ')}` : 'ok'}${lost.length ? `  LOST: ${lost.join(', ')}` : ''}${notes.length ? `  (${notes.join('; ')})` : ''}`,
      );
      if (problems.length) {
        // Leave nothing for the next cycle to trip over: a person would power-cycle; the soak starts the disk again from the image.
        log('board left broken: resetting the private vboard from its image for the next cycle');
        await check.close();
        await vboardDown({ log }).catch(() => undefined);
        await vboardUp({ log, fresh: true, bootTimeoutS: 900, runner: new ExecaRunner() });
        rmSync(join(dir, 'state', 'deploy'), { recursive: true, force: true });
        check = connect();
        await sh('[ -d /sys/module/visl ] || modprobe visl');
      }
    }
  } finally {
    await check?.close().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    if (!opts.keep) await vboardDown({ log }).catch(() => undefined);
    if (saved.state === undefined) delete process.env.WORKBENCH_STATE_DIR;
    else process.env.WORKBENCH_STATE_DIR = saved.state;
    if (savedAccel === undefined) delete process.env.WORKBENCH_VBOARD_ACCEL;
    if (saved.config === undefined) delete process.env.WORKBENCH_CONFIG_DIR;
    else process.env.WORKBENCH_CONFIG_DIR = saved.config;
    if (!opts.keep) rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
  }
  const broken = results.filter((c) => c.problems.length).length;
  const lost = results.reduce((n, c) => n + c.lost.length, 0);
  return { cycles: results, broken, lost, table: table(results, opts), dir };
}

/** The summary table. */
export function table(cs: CycleResult[], opts: { cycles: number; seed: number }): string {
  const lines: string[] = [];
  const cols = [...PHASES];
  lines.push(`fault soak: ${cs.length} cycle(s), seed ${opts.seed}`);
  lines.push(`${'fault \\ phase'.padEnd(12)}${cols.map((p) => p.padStart(10)).join('')}${'total'.padStart(8)}${'broken'.padStart(8)}`);
  for (const k of FAULT_KINDS) {
    const row = cs.filter((c) => c.kind === k);
    lines.push(
      `${k.padEnd(12)}${cols.map((p) => String(row.filter((c) => c.phase === p).length || '.').padStart(10)).join('')}${String(row.length).padStart(8)}${String(row.filter((c) => c.problems.length).length).padStart(8)}`,
    );
  }
  const secs = cs.map((c) => c.repairSeconds);
  const repaired = cs.filter((c) => c.repaired);
  lines.push(
    `repairs: ${repaired.length} command(s) found and repaired an interrupted operation; ${cs.length - repaired.length} found nothing to repair (the faulted command had cleaned up itself)`,
  );
  lines.push(
    `seconds to repair (the next plain command): median ${median(secs).toFixed(1)}, max ${Math.max(0, ...secs).toFixed(1)}; of repairing commands: median ${median(repaired.map((c) => c.repairSeconds)).toFixed(1)}, max ${Math.max(0, ...repaired.map((c) => c.repairSeconds)).toFixed(1)}`,
  );
  lines.push(`boards left broken: ${cs.filter((c) => c.problems.length).length}`);
  lines.push(`backups lost: ${cs.reduce((n, c) => n + c.lost.length, 0)}`);
  for (const c of cs.filter((x) => x.problems.length || x.lost.length))
    lines.push(`  cycle ${c.cycle} ${c.kind} @ ${c.phase}: ${[...c.problems, ...c.lost.map((l) => `lost ${l}`)].join('; ')}`);
  return lines.join('\n');
}

const USAGE = `usage: node --import tsx harness/bench/fault-soak.ts [--cycles N] [--seed S] [--jobs K] [--out FILE] [--keep]
  --cycles N   deploy/verify/rollback cycles, one fault each (default 50)
  --seed S     seed of the fault schedule (default 1)
  --jobs K     K private vboards in parallel (default 1)
  --out FILE   also append the log and the table to FILE
  --keep       keep the private vboards' folders`;

/**
 * The command line (node:util parseArgs, strict: an unknown option or a
 * non-numeric count stops with the usage instead of starting a soak).
 * @throws Error with the usage text.
 */
function options(argv: string[]) {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      cycles: { type: 'string', default: '50' },
      seed: { type: 'string', default: '1' },
      jobs: { type: 'string', default: '1' },
      out: { type: 'string' },
      shard: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const num = (name: 'cycles' | 'seed' | 'jobs') => {
    const n = Number(v[name]);
    if (!Number.isInteger(n) || n < (name === 'seed' ? 0 : 1)) throw new Error(`--${name} ${v[name]}: expected a whole number\n${USAGE}`);
    return n;
  };
  return { help: v.help, cycles: num('cycles'), seed: num('seed'), jobs: num('jobs'), out: v.out, shard: v.shard, keep: v.keep };
}

/** Prefix of the line a worker prints (stdout) for each finished cycle, followed by the CycleResult as JSON. */
const CYCLE_LINE = 'SOAK-CYCLE ';

/**
 * `--jobs K`: K worker processes (this file with `--shard W/K`), each with
 * its own private vboard, run cycles W, W+K, W+2K... of the ONE schedule of
 * `--cycles` (so the balanced fault schedule holds for the whole run); their
 * log lines go to stderr and `out` prefixed with `[wW]`, their results are
 * merged into one table.
 */
async function runJobs(cycles: number, seed: number, jobs: number, append: (l: string) => void, keep: boolean): Promise<CycleResult[]> {
  const results: CycleResult[] = [];
  const self = new URL(import.meta.url).pathname;
  const workers = Array.from({ length: jobs }, (_, w) => {
    const argv = ['--import', 'tsx', self, '--cycles', String(cycles), '--seed', String(seed), '--shard', `${w}/${jobs}`, ...(keep ? ['--keep'] : [])];
    const p = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (stream: NodeJS.ReadableStream, on: (l: string) => void) => {
      let partial = '';
      stream.on('data', (b: Buffer) => {
        partial += b.toString();
        const ls = partial.split('\n');
        partial = ls.pop()!;
        for (const l of ls) on(l);
      });
    };
    lines(p.stderr!, (l) => {
      process.stderr.write(`[w${w}] ${l}\n`);
      append(`[w${w}] ${l}`);
    });
    lines(p.stdout!, (l) => {
      if (!l.startsWith(CYCLE_LINE)) return;
      results.push(JSON.parse(l.slice(CYCLE_LINE.length)) as CycleResult);
      results.sort((a, b) => a.cycle - b.cycle);
      append(`after ${results.length} of ${cycles} cycles:\n${table(results, { cycles, seed })}`);
    });
    return new Promise<number | null>((res) => p.on('close', (code) => res(code)));
  });
  const codes = await Promise.all(workers);
  codes.forEach((c, w) => c !== 0 && c !== 1 && append(`worker ${w} ended with exit ${c}`));
  return results;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  let o: ReturnType<typeof options>;
  try {
    o = options(process.argv.slice(2));
  } catch (e) {
    const m = (e as Error).message;
    process.stderr.write(`fault-soak: ${m.includes('usage:') ? m : `${m}\n${USAGE}`}\n`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const { cycles, seed, jobs, keep, out } = o;
  const shard = /^(\d+)\/(\d+)$/.exec(o.shard ?? '');
  const t0 = Date.now();
  const stamp = () => new Date().toISOString().slice(11, 19);
  const append = (l: string) => out && appendFileSync(out, `${l}\n`);
  if (shard) {
    // A worker of --jobs: cycles W, W+K, ... of the one schedule; results as lines on stdout.
    const [w, k] = [Number(shard[1]), Number(shard[2])];
    const only = schedule(cycles, seed)
      .map((_, i) => i)
      .filter((i) => i % k === w);
    let seen = 0;
    const res = await runSoak({
      cycles,
      seed,
      keep,
      only,
      log: (m) => process.stderr.write(`${stamp()} ${m}\n`),
      onCycle: (done) => {
        for (const c of done.slice(seen)) process.stdout.write(`${CYCLE_LINE}${JSON.stringify(c)}\n`);
        seen = done.length;
      },
    });
    process.exitCode = res.broken || res.lost ? 1 : 0;
  } else {
    append(`fault soak: --cycles ${cycles} --seed ${seed} --jobs ${jobs}, started ${new Date().toISOString()}`);
    const progress = join(dirname(cacheRoot()), 'workbench-soak', `progress-seed${seed}.txt`);
    let cs: CycleResult[];
    if (jobs > 1) cs = await runJobs(cycles, seed, jobs, append, keep);
    else {
      const res = await runSoak({
        cycles,
        seed,
        keep,
        log: (m) => {
          process.stderr.write(`[soak] ${stamp()} ${m}\n`);
          append(`${stamp()} ${m}`);
        },
        onCycle: (done) => {
          const t = `${table(done, { cycles, seed })}\n(${done.length} of ${cycles} cycles, ${((Date.now() - t0) / 60_000).toFixed(1)} min)\n`;
          writeFileSync(progress, t);
        },
      });
      cs = res.cycles;
    }
    const final = `${table(cs, { cycles, seed })}\nwall time ${((Date.now() - t0) / 60_000).toFixed(1)} min${jobs > 1 ? ` (${jobs} private vboards in parallel)` : ''}`;
    console.log(final);
    append(final);
    const broken = cs.filter((c) => c.problems.length).length;
    const lost = cs.reduce((n, c) => n + c.lost.length, 0);
    process.exitCode = broken || lost || cs.length < cycles ? 1 : 0;
  }
}
