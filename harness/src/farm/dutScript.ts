import { loadScript } from '../core/scripts.ts';
import { WorkbenchError } from '../core/errors.ts';
import { GST_DEBUG_SPEC, PROBE_SCRIPT, pipelineArgv } from '../decode/plugins.ts';
import { shellQuote } from '../target/quote.ts';

/**
 * The shell script a LAVA test shell runs on the device under test (POSIX
 * sh: dash on Debian, busybox sh elsewhere). It is written into the inline
 * test definition of every job the workbench renders (farm/job.ts), so it
 * only uses what a Debian board has: coreutils (sha256sum, md5sum, split,
 * timeout), tar + xz, kmod, GStreamer; HTTP with wget or curl, else bash's
 * /dev/tcp.
 *
 * Arguments: `BASE DRIVER MODE SET MODULES_SHA256 MODULE_NAMES TIMEOUT VECTOR...`
 * - BASE: URL base of the artefacts (`modules.tar.xz`, `vectors/<file>`,
 *   `refs/<name>.sha256` with one expected frame SHA-256 per line);
 * - DRIVER: the V4L2 driver to decode with (`rkvdec`, `visl`);
 * - MODE: `pixels` (frames compared with the references) or `visl` (frame
 *   count only: visl draws a test pattern);
 * - SET: the lava-test-set name;
 * - MODULES_SHA256: SHA-256 of modules.tar.xz, or `-` when the job installs
 *   no module (a farm job boots with the modules as an NFS overlay);
 * - MODULE_NAMES: comma-separated module names to reload after installing;
 * - TIMEOUT: seconds one decode may take (coreutils `timeout`);
 * - VECTOR: `case:file:sha256:demuxer:sizes` per vector, sizes as
 *   `COUNTxBYTES+COUNTxBYTES...` (frame sizes in output order, from the
 *   libvpx references).
 *
 * Output lines the workbench parses (farm/results.ts), besides LAVA's own
 * signals:
 * - `WB-MODULES installed|restored|none ...`
 * - `WB-ELEMENT <element> <media> <video> <driver>`
 * - `WB-DECODE <case> rc=<exit> bytes=<n> md5=<md5 of the output>`
 * - `WB-FRAME <case> <index> <bytes> <sha256>` per output frame
 * - `WB-ERROR <case|-> <text>`
 * The verdict is decided by the workbench from these lines; the script's
 * own lava-test-case result (a failing case's measurement is its first bad
 * frame, output order) is what LAVA's UI shows.
 */

/**
 * The script body (harness/src/farm/dut/wb-lava.sh). `@MODSWAP@`, `@PROBE@`
 * and `@PIPELINE@` are replaced by {@link dutScript} with the workbench's own
 * module swapper (deploy/modswap.sh), GStreamer probe (decode/gstElements.ts)
 * and decode pipeline (decode/gstV4l2sl.ts), so the board runs exactly what
 * `workbench iterate` runs.
 */
export function dutScriptTemplate(): string {
  return loadScript(import.meta.url, 'dut/wb-lava.sh').text;
}

/** The workbench's module swapper (deploy/modswap.sh), run on the board by the DUT script. */
export function modswapScript(): string {
  return loadScript(import.meta.url, '../deploy/modswap.sh').text;
}

/** Shell variables the pipeline placeholders become (set by the script per vector). */
const PIPELINE_VARS: Record<string, string> = { '@WB_EL@': 'el', '@WB_DEMUX@': 'demux', '@WB_IN@': 'in', '@WB_OUT@': 'out' };

/**
 * The workbench's gst-launch pipeline (decode/gstV4l2sl.ts pipelineArgv) as
 * one shell command line whose element, demuxer, input and output are the
 * script's variables `$el`, `$demux`, `$in`, `$out`: every argument is quoted
 * with the one quoting function (target/quote.ts), then each placeholder is
 * cut out of its single-quoted word as `'"$var"'`.
 */
export function pipelineShell(): string {
  const argv = pipelineArgv('@WB_EL@', '@WB_DEMUX@', '@WB_IN@', '@WB_OUT@');
  return argv
    .map((a) => {
      let q = shellQuote(a);
      for (const [ph, v] of Object.entries(PIPELINE_VARS)) {
        if (!q.includes(ph)) continue;
        if (!q.startsWith("'")) q = `'${q}'`;
        q = q.replaceAll(ph, `'"$${v}"'`).replace(/^''/, '').replace(/''$/, '');
      }
      return q;
    })
    .join(' ');
}

/**
 * The script with the workbench's reload script, GStreamer probe and decode
 * pipeline filled in.
 * @throws WorkbenchError E_INTERNAL when a placeholder is missing or one of
 *   the inserted scripts holds a heredoc delimiter line.
 */
export function dutScript(): string {
  let s = dutScriptTemplate();
  for (const [name, text] of [
    ['MODSWAP', modswapScript()],
    ['PROBE', PROBE_SCRIPT],
  ] as const) {
    if (new RegExp(`^WB_${name}_EOF$`, 'm').test(text)) throw new WorkbenchError('E_INTERNAL', `the ${name} script holds the line WB_${name}_EOF`);
    const re = new RegExp(`^@${name}@$`, 'm');
    if (!re.test(s)) throw new WorkbenchError('E_INTERNAL', `wb-lava.sh lacks the @${name}@ line`);
    s = s.replace(re, () => text.trim());
  }
  if (!s.includes('@PIPELINE@')) throw new WorkbenchError('E_INTERNAL', 'wb-lava.sh lacks @PIPELINE@');
  return s.replace('@PIPELINE@', () => pipelineShell()).replace('@GST_DEBUG@', () => shellQuote(GST_DEBUG_SPEC));
}
