import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadScript, type ShellScript } from '../../src/core/scripts.ts';
import { LocalTarget } from '../target/localTarget.ts';

/**
 * The deploy's remote scripts (harness/src/deploy/*.sh) run for real with
 * this machine's sh on a temporary directory standing for the board's
 * module directory and /var/lib/workbench. Expected hashes come from
 * node:crypto, not from the scripts. (backup.sh writes to /dev/kmsg and
 * preflight.sh/verify.sh read /proc and /sys: they run on the vboard in
 * deploy.int.test.ts.)
 */
const dir = new URL('../../src/deploy/', import.meta.url);
const JOURNAL = loadScript(dir, 'journal.sh');
const INSTALL = loadScript(dir, 'install.sh');
const RESTORE = loadScript(dir, 'restore.sh');
const FINISH = loadScript(dir, 'finish.sh');
const LIST = loadScript(dir, 'listBackups.sh');
const t = new LocalTarget();
let root: string;

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** Runs `script` as runPhase does: journal.sh first, `$0` the script's name. */
const phase = (script: ShellScript, journal: string, args: string[], input = '') =>
  t.exec(['sh', '-c', JOURNAL.text + script.text, script.name, journal, ...args], { input, allowFailure: true });
const run = (script: ShellScript, args: string[]) => t.exec(['sh', '-c', script.text, script.name, ...args], { allowFailure: true });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wb-scripts-'));
  mkdirSync(join(root, 'mod'));
  mkdirSync(join(root, 'wb', 'backups'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('deploy scripts (local sh)', () => {
  it('journal.sh writes the journal before the step runs; when it cannot, exits 90 with wb-journal-failed and the step never runs', async () => {
    const j = join(root, 'wb', 'journal.json');
    const ok = await phase(INSTALL, j, ['REL', 'no'], '{"phase":"install"}');
    expect(ok.exitCode).toBe(0);
    expect(readFileSync(j, 'utf8')).toBe('{"phase":"install"}');
    expect(existsSync(`${j}.tmp`)).toBe(false);

    // The journal's directory cannot be created (a file is in the way): nothing of install.sh runs.
    writeFileSync(join(root, 'blocked'), '');
    writeFileSync(join(root, 'mod', '.wb-x-a.ko'), 'new');
    const bad = await phase(INSTALL, join(root, 'blocked', 'journal.json'), ['REL', 'no', join(root, 'mod', '.wb-x-a.ko'), join(root, 'mod', 'a.ko')], '{}');
    expect(bad.exitCode).toBe(90);
    expect(bad.stderr.trim().split('\n').at(-1)).toBe('wb-journal-failed');
    expect(bad.stdout).toBe('');
    expect(existsSync(join(root, 'mod', 'a.ko'))).toBe(false);

    // An empty journal path leaves the journal alone (stdin unread).
    expect((await phase(INSTALL, '', ['REL', 'no'])).exitCode).toBe(0);
    expect(readFileSync(j, 'utf8')).toBe('{"phase":"install"}');
  });

  it('install.sh renames uploads into place; restore.sh puts the backup back, removes added files and leftover uploads, and refuses a corrupt backup', async () => {
    const mod = join(root, 'mod');
    const b = join(root, 'wb', 'backups', 'ID');
    mkdirSync(b);
    writeFileSync(join(b, 'a.ko'), 'old-a');
    writeFileSync(join(b, 'SHA256SUMS'), `${sha('old-a')}  a.ko\n`);
    writeFileSync(join(mod, '.wb-ID-a.ko'), 'new-a');
    writeFileSync(join(mod, '.wb-ID-b.ko'), 'new-b');
    const inst = await phase(INSTALL, '', ['REL', 'no', join(mod, '.wb-ID-a.ko'), join(mod, 'a.ko'), join(mod, '.wb-ID-b.ko'), join(mod, 'b.ko')]);
    expect(inst.exitCode).toBe(0);
    expect(inst.stdout).toBe(`installed\t${join(mod, 'a.ko')}\ninstalled\t${join(mod, 'b.ko')}\n`);
    expect(readFileSync(join(mod, 'a.ko'), 'utf8')).toBe('new-a');

    writeFileSync(join(mod, '.wb-ID-c.ko'), 'leftover upload');
    const r = await phase(RESTORE, '', [b, 'REL', 'ID', 'no', 'restore', join(mod, 'a.ko'), join(b, 'a.ko'), 'remove', join(mod, 'b.ko'), '-']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`restored\t${join(mod, 'a.ko')}\t${sha('old-a')}\nremoved\t${join(mod, 'b.ko')}\n`);
    expect(readFileSync(join(mod, 'a.ko'), 'utf8')).toBe('old-a');
    expect(existsSync(join(mod, 'b.ko'))).toBe(false);
    expect(existsSync(join(mod, '.wb-ID-c.ko'))).toBe(false);

    writeFileSync(join(mod, 'a.ko'), 'new-a');
    writeFileSync(join(b, 'a.ko'), 'tampered');
    const bad = await phase(RESTORE, '', [b, 'REL', 'ID', 'no', 'restore', join(mod, 'a.ko'), join(b, 'a.ko')]);
    expect(bad.exitCode).toBe(3);
    expect(bad.stdout).toBe(`backup-corrupt\t${b}\n`);
    expect(readFileSync(join(mod, 'a.ko'), 'utf8')).toBe('new-a');
  });

  it('finish.sh writes the record, then removes the journal, prunes beyond KEEP (never an active one) and the lock; a record it cannot write leaves journal and lock (exit 91)', async () => {
    const backups = join(root, 'wb', 'backups');
    const journal = join(root, 'wb', 'journal.json');
    const lock = join(root, 'wb', 'lock');
    for (const id of ['A1', 'A2', 'A3', 'A4']) {
      mkdirSync(join(backups, id));
      writeFileSync(join(backups, id, 'record.json'), `{"id":"${id}","state":"${id === 'A1' ? 'active' : 'rolled-back'}"}\n`);
    }
    mkdirSync(join(backups, 'B1'));
    writeFileSync(journal, '{}');
    mkdirSync(lock);
    const rec = '{"id":"B1","state":"active"}';
    const r = await run(FINISH, [join(backups, 'B1'), rec, journal, '2', lock]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(backups, 'B1', 'record.json'), 'utf8')).toBe(`${rec}\n`);
    expect(existsSync(journal)).toBe(false);
    expect(existsSync(lock)).toBe(false);
    // Newest first: B1, A4 kept; A3, A2 pruned; A1 is active.
    expect(r.stdout).toBe(`pruned\t${backups}/A3/\npruned\t${backups}/A2/\n`);
    expect(existsSync(join(backups, 'A1'))).toBe(true);

    writeFileSync(journal, '{}');
    mkdirSync(lock);
    const bad = await run(FINISH, [join(backups, 'gone'), rec, journal, '2', lock]);
    expect(bad.exitCode).toBe(91);
    expect(bad.stderr).toMatch(/gone\/record\.json\.tmp/);
    expect(existsSync(journal)).toBe(true);
    expect(existsSync(lock)).toBe(true);
  });

  it('listBackups.sh lists the pending journal, each backup with its record, and backups without one as partial', async () => {
    const backups = join(root, 'wb', 'backups');
    const journal = join(root, 'wb', 'journal.json');
    mkdirSync(join(backups, 'R1'));
    writeFileSync(join(backups, 'R1', 'record.json'), '{"id":"R1"}\n');
    mkdirSync(join(backups, 'P1'));
    writeFileSync(journal, '{"id":\n"P1"}\n');
    const r = await run(LIST, [backups, journal]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('journal\t{"id":"P1"}\npartial\tP1\nrecord\tR1\t{"id":"R1"}\n');
  });
});
