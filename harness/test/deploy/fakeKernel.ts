import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSnapshot, type ModSnapshot } from '../../src/deploy/modgraph.ts';
import { LocalTarget } from '../target/localTarget.ts';

/**
 * A fake kernel module world for unit tests of the module graph scripts
 * (deploy/modstate.sh, deploy/modswap.sh) run by a real sh: a /sys/module
 * tree built from a module state recorded on the real vboard (modstate.sh
 * output), and rmmod/modprobe/modinfo stubs that follow the kernel's rules:
 * - rmmod fails while refcnt is not 0 (kernel/module/main.c
 *   delete_module -> try_stop_module), printing rmmod's own message
 *   (`Module X is in use by: H...` when holders are listed, else `is in use`);
 *   unloading drops the references it held on its dependencies;
 * - modprobe loads the module's dependencies (depends= of its file) first,
 *   like kmod, and each dependency gains a holder and a reference.
 */
export interface FakeKernel {
  target: LocalTarget;
  /** rmmod/modprobe calls in order (`rmmod X`, `modprobe X ARGS`). */
  calls(): string[];
  /** Loaded module names now. */
  loaded(): string[];
  snapshot(): ModSnapshot;
  /** A process holding `/dev/videoN` of `module` (adds a reference). */
  openDevice(pid: number, comm: string, dev: string, module: string): void;
  sys: string;
}

export function fakeKernel(recorded: string, opts: { failLoad?: string } = {}): FakeKernel {
  const snap = parseSnapshot(recorded);
  const root = mkdtempSync(join(tmpdir(), 'wb-kernel-'));
  const sys = join(root, 'sys');
  const proc = join(root, 'proc');
  const bin = join(root, 'bin');
  const files = join(root, 'files');
  mkdirSync(bin);
  mkdirSync(proc);
  mkdirSync(files);
  mkdirSync(join(sys, 'module'), { recursive: true });
  for (const m of snap.loaded.values()) {
    const d = join(sys, 'module', m.name);
    mkdirSync(join(d, 'holders'), { recursive: true });
    writeFileSync(join(d, 'initstate'), `${m.state}\n`);
    writeFileSync(join(d, 'refcnt'), `${m.refcnt}\n`);
    if (m.srcversion) writeFileSync(join(d, 'srcversion'), `${m.srcversion}\n`);
  }
  for (const m of snap.loaded.values()) for (const h of m.holders) symlinkSync(`../../${h}`, join(sys, 'module', m.name, 'holders', h));
  // module files: path|srcversion|depends (from the recorded `file` lines)
  for (const [n, f] of snap.files) if (f) writeFileSync(join(files, n), `${f.path}|${f.srcversion ?? ''}|${f.depends.join(',')}\n`);
  const log = join(root, 'calls');
  writeFileSync(log, '');
  const sh = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\nS=${JSON.stringify(sys)}; F=${JSON.stringify(files)}; L=${JSON.stringify(log)}\n${body}`);
    chmodSync(join(bin, name), 0o755);
  };
  sh(
    'rmmod',
    `echo "rmmod $*" >> "$L"
m=$1; d=$S/module/$m
[ -d "$d" ] || { echo "rmmod: ERROR: Module $m is not currently loaded" >&2; exit 1; }
rc=$(cat "$d/refcnt")
if [ "$rc" != 0 ]; then
  hs=$(ls "$d/holders" | tr '\\n' ' '); hs=\${hs% }
  if [ -n "$hs" ]; then echo "rmmod: ERROR: Module $m is in use by: $hs" >&2; else echo "rmmod: ERROR: Module $m is in use" >&2; fi
  exit 1
fi
for h in "$S"/module/*/holders/"$m"; do
  [ -L "$h" ] || continue
  dep=\${h%/holders/*}; rm -f "$h"; echo $(( $(cat "$dep/refcnt") - 1 )) > "$dep/refcnt"
done
rm -rf "$d"
`,
  );
  sh(
    'modprobe',
    `echo "modprobe $*" >> "$L"
load() (
  m=$1
  [ -d "$S/module/$m" ] && return 0
  [ -f "$F/$m" ] || { echo "modprobe: FATAL: Module $m not found" >&2; return 1; }
  [ "$m" = "${opts.failLoad ?? ''}" ] && { echo "modprobe: ERROR: could not insert '$m': Invalid argument" >&2; return 1; }
  IFS='|' read -r p sv deps < "$F/$m"
  for x in $(echo "$deps" | tr ',' ' '); do x=$(echo "$x" | tr - _); load "$x" || return 1; done
  mkdir -p "$S/module/$m/holders"; echo live > "$S/module/$m/initstate"; echo 0 > "$S/module/$m/refcnt"; echo "$sv" > "$S/module/$m/srcversion"
  for x in $(echo "$deps" | tr ',' ' '); do x=$(echo "$x" | tr - _); ln -s "../../$m" "$S/module/$x/holders/$m"; echo $(( $(cat "$S/module/$x/refcnt") + 1 )) > "$S/module/$x/refcnt"; done
)
load "$(echo "$1" | tr - _)"
`,
  );
  sh(
    'modinfo',
    `case $1 in
  -n) [ -f "$F/$2" ] || exit 1; cut -d'|' -f1 "$F/$2";;
  -F) [ -f "$F/$3" ] || exit 1; case $2 in srcversion) cut -d'|' -f2 "$F/$3";; depends) cut -d'|' -f3 "$F/$3";; esac;;
  *) exit 1;;
esac
`,
  );
  const target = new LocalTarget('vboard', { WB_SYS: sys, WB_PROC: proc, PATH: `${bin}:${process.env.PATH}` });
  return {
    target,
    sys,
    calls: () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean),
    loaded: () => {
      const out = spawnLs(join(sys, 'module'));
      return out;
    },
    snapshot: () => {
      const lines: string[] = [];
      for (const n of spawnLs(join(sys, 'module'))) {
        const d = join(sys, 'module', n);
        lines.push(
          ['mod', n, read(join(d, 'initstate')), read(join(d, 'refcnt')), read(join(d, 'srcversion')), spawnLs(join(d, 'holders')).join(',')].join('\t'),
        );
      }
      return parseSnapshot(lines.join('\n'));
    },
    openDevice: (pid, comm, dev, module) => {
      mkdirSync(join(proc, String(pid), 'fd'), { recursive: true });
      writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
      symlinkSync(dev, join(proc, String(pid), 'fd', '3'));
      const rc = join(sys, 'module', module, 'refcnt');
      writeFileSync(rc, `${Number(read(rc)) + 1}\n`);
      const vd = join(sys, 'class', 'video4linux', dev.split('/').pop()!, 'device', 'driver');
      mkdirSync(vd, { recursive: true });
      symlinkSync(join(sys, 'module', module), join(vd, 'module'));
    },
  };
}

function read(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

function spawnLs(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
