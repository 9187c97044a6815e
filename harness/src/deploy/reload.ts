import { WorkbenchError } from '../core/errors.ts';
import type { Target } from '../target/types.ts';
import { parseLines, runPhase, sysName } from './remote.ts';

/**
 * Unload and load modules on the board in one remote command:
 * 1. for every module in `unload`, collect the loaded modules that hold it
 *    (recursively, /sys/module/NAME/holders) and `rmmod` them deepest first,
 *    then the module itself (rmmod, not `modprobe -r`, so unrelated unused
 *    dependencies stay as they are);
 * 2. `modprobe` every module of `load` with its parameters;
 * 3. `modprobe` again the holders that step 1 removed (and that are not in
 *    `unload` themselves).
 * `WB_SYS` (default /sys) lets unit tests run it on a fake sysfs.
 */
export const RELOAD_SCRIPT = `
sys=\${WB_SYS:-/sys}
unload=""
while [ "$1" != "--" ]; do unload="$unload $1"; shift; done; shift
order=""
for n in $unload; do
  q=$n
  while [ -n "$q" ]; do
    x=\${q%% *}; [ "$x" = "$q" ] && q="" || q=\${q#* }
    [ -d "$sys/module/$x" ] || continue
    case " $order " in *" $x "*) ;; *) order="$order $x";; esac
    for h in "$sys"/module/$x/holders/*; do [ -e "$h" ] || continue; q="$q \${h##*/}"; q=\${q# }; done
  done
done
rev=""; for x in $order; do rev="$x $rev"; done
for x in $rev; do
  if [ -d "$sys/module/$x" ]; then
    rmmod "$x" || { echo "unload-failed	$x"; exit 4; }
    echo "unloaded	$x"
  fi
done
cur=""
for tok in "$@"; do
  if [ "$tok" = ";" ]; then
    cur=\${cur# }
    if [ -n "$cur" ]; then
      m=\${cur%% *}
      # word splitting is wanted here; globbing is off for it (parameters are checked for glob characters too)
      set -f; modprobe $cur || { echo "load-failed	$m"; exit 5; }; set +f
      echo "loaded	$m"
    fi
    cur=""
  else
    cur="$cur $tok"
  fi
done
for x in $order; do
  case " $unload " in *" $x "*) continue;; esac
  [ -d "$sys/module/$x" ] && continue
  modprobe "$x" || { echo "reload-failed	$x"; exit 6; }
  echo "reloaded	$x"
done
`;

/** A module to load, with modprobe parameters (`name=value` words). */
export interface LoadSpec {
  name: string;
  params?: string[];
}

/** What the reload did. */
export interface ReloadResult {
  unloaded: string[];
  loaded: string[];
  reloaded: string[];
}

const PARAM_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(=[^\s'"\\`$;*?[\]{}()<>|&]*)?$/;

/**
 * Runs the reload. `journal`: JSON written to the board's journal first.
 * @throws WorkbenchError E_MODULE_UNLOAD (names the module that would not
 *   unload), E_MODULE_LOAD (names the module and shows modprobe's error),
 *   E_BAD_PARAM (a parameter with characters the workbench refuses to send).
 */
export async function reloadModules(
  target: Target,
  unload: string[],
  load: LoadSpec[],
  opts: { journal?: string; timeoutMs?: number } = {},
): Promise<ReloadResult> {
  const args: string[] = [...unload.map(sysName), '--'];
  for (const l of load) {
    for (const p of l.params ?? []) {
      if (!PARAM_RE.test(p)) {
        throw new WorkbenchError('E_BAD_PARAM', `module parameter '${p}' for ${l.name} is not a plain name=value`, {
          hint: 'use name=value without spaces, quotes or shell characters',
        });
      }
    }
    args.push(sysName(l.name), ...(l.params ?? []), ';');
  }
  // Another process may load a module between the holder scan and rmmod
  // (e.g. a decode that reloads visl per vector): retry an unload failure.
  let r = await runPhase(target, RELOAD_SCRIPT, args, { ...opts, allowFailure: true });
  for (let attempt = 1; attempt <= 2 && r.exitCode === 4; attempt++) {
    await new Promise((res) => setTimeout(res, 1000 * attempt));
    r = await runPhase(target, RELOAD_SCRIPT, args, { ...opts, allowFailure: true });
  }
  const res: ReloadResult = { unloaded: [], loaded: [], reloaded: [] };
  let failed: [string, string] | undefined;
  for (const [k, f] of parseLines(r.stdout)) {
    if (k === 'unloaded') res.unloaded.push(f[0]!);
    else if (k === 'loaded') res.loaded.push(f[0]!);
    else if (k === 'reloaded') res.reloaded.push(f[0]!);
    else if (k.endsWith('-failed')) failed = [k, f[0]!];
  }
  if (r.exitCode !== 0) {
    const why = r.stderr.trim() || `exit ${r.exitCode}`;
    if (failed?.[0] === 'unload-failed') {
      throw new WorkbenchError('E_MODULE_UNLOAD', `${target.name}: module ${failed[1]} could not be unloaded: ${why}`, {
        hint: 'a process may still use it (see the busy devices), or its exit path is broken',
      });
    }
    throw new WorkbenchError('E_MODULE_LOAD', `${target.name}: module ${failed?.[1] ?? '?'} failed to load: ${why}`, {
      hint: 'see the kernel log findings for the reason',
    });
  }
  return res;
}
