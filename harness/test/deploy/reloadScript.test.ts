import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RELOAD_SCRIPT } from '../../src/deploy/reload.ts';

/**
 * The real reload script run by a real sh on a fake sysfs, with rmmod and
 * modprobe stubs that log their calls and update the fake tree like the
 * kernel would (unit test of our own shell logic; the vboard tests run it
 * for real).
 */
function world(loaded: Record<string, string[]>, failRmmod = '') {
  const root = mkdtempSync(join(tmpdir(), 'wb-sys-'));
  const sys = join(root, 'sys');
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const [m, holders] of Object.entries(loaded)) {
    mkdirSync(join(sys, 'module', m, 'holders'), { recursive: true });
    for (const h of holders) symlinkSync(`../../${h}`, join(sys, 'module', m, 'holders', h));
  }
  const log = join(root, 'calls');
  writeFileSync(log, '');
  writeFileSync(
    join(bin, 'rmmod'),
    `#!/bin/sh\necho "rmmod $*" >> ${log}\n[ "$1" = "${failRmmod}" ] && { echo "rmmod: ERROR: Module $1 is in use" >&2; exit 1; }\nif [ -n "$(ls "$WB_SYS/module/$1/holders" 2>/dev/null)" ]; then echo "rmmod: ERROR: Module $1 is in use by: $(ls "$WB_SYS/module/$1/holders")" >&2; exit 1; fi\nrm -rf "$WB_SYS/module/$1"; for d in "$WB_SYS"/module/*/holders/$1; do rm -f "$d"; done\n`,
  );
  writeFileSync(join(bin, 'modprobe'), `#!/bin/sh\necho "modprobe $*" >> ${log}\n[ "$2" = "bad=1" ] && exit 1\nmkdir -p "$WB_SYS/module/$1/holders"\n`);
  chmodSync(join(bin, 'rmmod'), 0o755);
  chmodSync(join(bin, 'modprobe'), 0o755);
  const run = (args: string[]) =>
    spawnSync('sh', ['-c', RELOAD_SCRIPT, 'wb', ...args], { encoding: 'utf8', env: { ...process.env, WB_SYS: sys, PATH: `${bin}:${process.env.PATH}` } });
  return { run, calls: () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

describe('reload script', () => {
  it('unloads holders deepest first, loads the new module with its parameters, reloads the holders', () => {
    const w = world({ v4l2_mem2mem: ['visl'], visl: ['visl_plugin'], visl_plugin: [] });
    const r = w.run(['v4l2_mem2mem', '--', 'v4l2_mem2mem', 'debug=1', ';']);
    expect(r.status).toBe(0);
    expect(w.calls()).toEqual(['rmmod visl_plugin', 'rmmod visl', 'rmmod v4l2_mem2mem', 'modprobe v4l2_mem2mem debug=1', 'modprobe visl', 'modprobe visl_plugin']);
    expect(r.stdout).toContain('reloaded\tvisl\n');
  });

  it('a module that is not loaded is only loaded', () => {
    const w = world({});
    const r = w.run(['visl', '--', 'visl', ';']);
    expect(r.status).toBe(0);
    expect(w.calls()).toEqual(['modprobe visl']);
  });

  it('a failed load stops with exit 5 and names the module', () => {
    const w = world({ visl: [] });
    const r = w.run(['visl', '--', 'visl', 'bad=1', ';']);
    expect(r.status).toBe(5);
    expect(r.stdout).toContain('load-failed\tvisl');
  });

  it('a module that cannot be unloaded stops with exit 4 before anything is loaded', () => {
    const w = world({ visl: [] }, 'visl');
    const r = w.run(['visl', '--', 'visl', ';']);
    expect(r.status).toBe(4);
    expect(r.stdout).toContain('unload-failed\tvisl');
    expect(w.calls()).toEqual(['rmmod visl']);
  });

  it('rollback form: unload the new modules, load only what was loaded before', () => {
    const w = world({ visl: [], v4l2_mem2mem: ['visl'] });
    const r = w.run(['visl', '--', ';']);
    expect(r.status).toBe(0);
    expect(w.calls()).toEqual(['rmmod visl']);
  });
});
