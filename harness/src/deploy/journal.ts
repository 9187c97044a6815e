import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/cache.ts';
import { stateRoot } from '../core/paths.ts';
import type { Target } from '../target/types.ts';
import { REMOTE_JOURNAL } from './remote.ts';
import type { DeployPhase, DeployRecord, ReplacedFile } from './types.ts';

/**
 * The deploy journal: what a deploy (or rollback) in progress has done so
 * far. It lives on the board ({@link REMOTE_JOURNAL}, authoritative: it is
 * written in the same remote command as the step it describes) and is
 * mirrored locally (`<stateRoot>/deploy/<board>.json`) so that an
 * interrupted deploy is reported even while the board is unreachable. The
 * next deploy/rollback finds it and finishes or rolls back (deploy/rollback.ts).
 */
export interface Journal {
  version: 1;
  /** What was running. */
  kind: 'deploy' | 'rollback';
  /** The deploy id (for a rollback: the id being undone). */
  id: string;
  board: string;
  /** Last phase started. */
  phase: DeployPhase;
  release: string;
  moduleDir: string;
  backupDir: string;
  entries: ReplacedFile[];
  /** Modules to load again after a restore (previously loaded modules, then holders). */
  reloadAfterRestore: string[];
  startedAt: string;
  /** Who wrote it (for messages). */
  owner: { host: string; pid: number };
  /**
   * Set when a repair of this journal failed: later commands say so instead
   * of failing the same way without a word, and the board is power-cycled
   * at most once per repair.
   */
  repair?: { attempts: number; firstFailedAt: string; lastError: string; powerCycledAt?: string };
}

/** A new journal. */
export function newJournal(j: Omit<Journal, 'version' | 'owner' | 'startedAt'>): Journal {
  return { version: 1, ...j, startedAt: new Date().toISOString(), owner: { host: hostname(), pid: process.pid } };
}

/**
 * The {@link DeployRecord} a deploy starts with (state `failed` until it
 * completes), also what a journal describes when a repair has no record.
 */
export function recordOf(j: Pick<Journal, 'id' | 'board' | 'release' | 'backupDir' | 'entries' | 'startedAt'>): DeployRecord {
  return {
    id: j.id,
    board: j.board,
    kernelRelease: j.release,
    backupDir: j.backupDir,
    replaced: j.entries,
    loaded: [],
    kernelLogFindings: [],
    bindings: [],
    durationMs: 0,
    state: 'failed',
    createdAt: j.startedAt,
  };
}

/** Local mirror path for a board. */
export function localJournalPath(board: string): string {
  return join(stateRoot(), 'deploy', `${board}.json`);
}

/** Writes the local mirror (atomic). */
export async function saveLocalJournal(j: Journal): Promise<void> {
  const p = localJournalPath(j.board);
  await mkdir(dirname(p), { recursive: true });
  await writeFileAtomic(p, JSON.stringify(j, null, 2) + '\n');
}

/** Reads the local mirror, if any. */
export async function loadLocalJournal(board: string): Promise<Journal | undefined> {
  const p = localJournalPath(board);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(await readFile(p, 'utf8')) as Journal;
  } catch {
    return undefined;
  }
}

/** Removes the local mirror. */
export async function clearLocalJournal(board: string): Promise<void> {
  await rm(localJournalPath(board), { force: true });
}

/** Reads the board's journal (undefined when there is none, or it is unreadable: then it is reported as corrupt). */
export async function loadRemoteJournal(target: Target): Promise<{ journal?: Journal; corrupt?: string }> {
  const r = await target.exec(['sh', '-c', '[ -e "$1" ] && cat "$1" || true', 'wb', REMOTE_JOURNAL], { timeoutMs: 30_000 });
  const text = r.stdout.trim();
  if (!text) return {};
  try {
    const j = JSON.parse(text) as Journal;
    if (j.version !== 1 || !j.id || !j.phase) return { corrupt: text.slice(0, 200) };
    return { journal: j };
  } catch {
    return { corrupt: text.slice(0, 200) };
  }
}

/** Removes the board's journal. */
export async function clearRemoteJournal(target: Target): Promise<void> {
  await target.exec(['rm', '-f', REMOTE_JOURNAL], { timeoutMs: 30_000 });
}
