import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { loadBundle, jobSpecOf } from './bundle.ts';
import type { FarmChroot } from './chroot.ts';
import { DEVICE_TYPES_DIR, rock5bDeviceDict, sshDeviceDict } from './device.ts';
import { ensureDispatcherConfig, type DispatcherConfig } from './dispatcher.ts';
import { renderJob } from './job.ts';
import { lavaRunLocal, RUN_INSIDE } from './localRun.ts';
import { jobHealth, lavaCases, parseLavaLog, type LavaCase } from './results.ts';

/** A LAVA validation error traced back to the bundle, with what to do. */
export interface ValidateProblem {
  /** LAVA's own words (one item of its "Invalid job data" list, or the job error). */
  lava: string;
  /** What to do about it, naming the bundle file when LAVA's error is about one. */
  hint: string;
}

/** Outcome of `lava-run --validate`. */
export interface ValidateResult {
  ok: boolean;
  /** LAVA device type validated against, e.g. `rk3588-rock-5b`. */
  deviceType: string;
  /** Its template inside the chroot (lava-server's /usr/share/lava-server/device-types/<type>.jinja2). */
  deviceTemplate: string;
  /** The dispatcher's TFTP/NFS configuration in the chroot (farm-rk3588 only). */
  dispatcher?: DispatcherConfig;
  /** LAVA's `validate` case and, when it failed, the job error. */
  cases: LavaCase[];
  /** LAVA's job error (`error_msg` of its `job` result), e.g. `Invalid job data: ["Resource unavailable at '...' (404)"]`. */
  error?: string;
  /** The job error split into LAVA's items, each with a hint (empty when valid). */
  problems: ValidateProblem[];
  /** The log lines LAVA wrote at level error or warning. */
  messages: string[];
  /** Wall time of lava-run, ms. */
  durationMs: number;
}

/** Options of {@link validateBundle}. */
export interface ValidateOptions {
  log?: (m: string) => void;
  /** Host folder to keep the validated job.yaml, the rendered device.yaml, LAVA's logs.yaml and lava-run.log in (created; files replaced). */
  keepDir?: string;
}

/**
 * LAVA's "Invalid job data" list (a Python list repr inside its error
 * message) as items; the whole message when it is not such a list.
 */
export function lavaErrorItems(error: string): string[] {
  const m = /^Invalid job data: \[(.*)\]\s*$/s.exec(error);
  if (!m) return [error];
  const items: string[] = [];
  for (const x of m[1]!.matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g)) items.push((x[1] ?? x[2] ?? '').replace(/\\(.)/g, '$1'));
  return items.length ? items : [error];
}

/**
 * What to do about one LAVA validation error: an artefact URL that did not
 * answer (LAVA checks every download URL with a HEAD request when it
 * validates: "Resource unavailable at 'URL' (404)") is traced to the
 * bundle's `artefacts/` file served at that URL.
 * @param item one of {@link lavaErrorItems}.
 * @param bundleDir the bundle folder (its `artefacts/` was served at `urlBase`).
 * @param urlBase the URL base the validated job was rendered with (`http://127.0.0.1:PORT`).
 * @returns one sentence naming what to fix.
 */
export function problemHint(item: string, bundleDir: string, urlBase: string): string {
  const m = /Resource unavailable at '([^']+)'(?: \((\d+)\))?/.exec(item);
  if (m) {
    const url = m[1]!;
    if (url.startsWith(urlBase + '/')) {
      let rel = url.slice(urlBase.length + 1);
      try {
        rel = decodeURIComponent(rel);
      } catch {
        // not percent-encoded text: name it as LAVA wrote it
      }
      rel = posix.normalize(rel);
      const file = join(bundleDir, 'artefacts', rel);
      return existsSync(file)
        ? `artefacts/${rel} is in the bundle but was not served (${m[2] ?? 'no answer'}): check its permissions (${file})`
        : `artefacts/${rel} is missing from the bundle (${file}): write the bundle again with \`workbench lava job\` (the farm root filesystem: --rootfs), or put the file there`;
    }
    return `the job names ${url}, which is not under the bundle's URL base: fix the bundle's farm boot files (bundle.json) or write it again with \`workbench lava job\``;
  }
  if (/tftpd|TFTP_DIRECTORY/.test(item)) return "the dispatcher's TFTP configuration in the LAVA chroot is wrong: see harness/src/farm/dispatcher.ts";
  if (/Unable to identify|which|not found/i.test(item))
    return 'a tool or file lava-dispatcher needs is missing from the LAVA chroot (harness/src/farm/chroot.ts FARM_PACKAGES)';
  return "see LAVA's log (logs.yaml) for the action that failed";
}

/**
 * Validates a bundle's job with the real lava-run (`--validate`) against the
 * device it is meant for, rendered with LAVA's own device-type templates
 * (lava-server's /usr/share/lava-server/device-types/): a stand-in `ssh`
 * device for the ssh profile, an `rk3588-rock-5b` device for farm-rk3588,
 * for which the chroot first gets the dispatcher's TFTP/NFS configuration
 * (farm/dispatcher.ts: lava-dispatcher's own tftpd-hpa defaults, its NFS
 * export checked). The job is rendered from bundle.json with the URL base
 * of a server on 127.0.0.1 that serves the bundle's artefacts/ for the
 * duration (LAVA checks that every download URL answers). The
 * dispatcher's per-job folder (its TFTP directory) is a temporary host
 * folder: nothing stays in the cached chroot.
 *
 * @param chroot the farm chroot (farm/chroot.ts ensureFarmChroot).
 * @param bundleDir a folder written by `workbench lava job`.
 * @param tmpRoot host folder for the temporary run folder (removed afterwards).
 * @returns ok when LAVA's own `validate` case passed; otherwise LAVA's error
 *   split into its items, each with a hint naming the bundle file.
 * @throws WorkbenchError E_LAVA_BUNDLE (bundle.json), E_LAVA_DISPATCHER
 *   (the chroot's dispatcher configuration), E_LAVA_DEVICE (rendering),
 *   E_LAVA_RUN (lava-run killed).
 */
export async function validateBundle(
  chroot: Pick<FarmChroot, 'exec' | 'hostPath'>,
  bundleDir: string,
  tmpRoot: string,
  o: ValidateOptions = {},
): Promise<ValidateResult> {
  const bundle = await loadBundle(bundleDir);
  const dispatcher = bundle.profile === 'farm-rk3588' ? await ensureDispatcherConfig(chroot) : undefined;
  const dir = await mkdtemp(join(tmpRoot, 'wb-validate-'));
  try {
    // lava-dispatcher checks that the device's SSH identity file exists (it does not connect when validating)
    await writeFile(join(dir, 'id'), 'placeholder: validation only\n', { mode: 0o600 });
    const device =
      bundle.profile === 'ssh' ? sshDeviceDict({ host: '127.0.0.1', port: 22, user: 'root', identityFile: `${RUN_INSIDE}/id` }) : rock5bDeviceDict();
    let urlBase = '';
    const run = await lavaRunLocal({
      chroot,
      dir,
      job: (u) => {
        urlBase = u;
        return renderJob({ ...jobSpecOf(bundle), urlBase: u });
      },
      device,
      artefacts: join(bundleDir, 'artefacts'),
      hostFromBoard: '127.0.0.1',
      validateOnly: true,
      ...(o.log ? { log: o.log } : {}),
    });
    const logsText = await readFile(join(run.outDir, 'logs.yaml'), 'utf8').catch(() => '');
    if (o.keepDir) {
      await mkdir(o.keepDir, { recursive: true });
      for (const [from, to] of [
        [join(dir, 'job.yaml'), 'job.yaml'],
        [join(dir, 'device.yaml'), 'device.yaml'],
        [join(run.outDir, 'logs.yaml'), 'logs.yaml'],
        [join(dir, 'lava-run.log'), 'lava-run.log'],
      ] as const)
        await copyFile(from, join(o.keepDir, to)).catch(() => undefined);
    }
    const entries = parseLavaLog(logsText);
    const cases = lavaCases(entries).filter((c) => c.definition === 'lava');
    const v = cases.find((c) => c.case === 'validate');
    const h = jobHealth(entries);
    const ok = v?.result === 'pass';
    const messages = entries.filter((e) => e.lvl === 'error' || e.lvl === 'warning').map((e) => String(e.msg));
    const error = ok ? undefined : (h.errorMsg ?? messages[0] ?? `lava-run exited ${run.exitCode} without a validate result (see lava-run.log)`).trim();
    const problems = !ok && error ? lavaErrorItems(error).map((lava) => ({ lava, hint: problemHint(lava, bundleDir, urlBase) })) : [];
    return {
      ok,
      deviceType: device.extends,
      deviceTemplate: `${DEVICE_TYPES_DIR}/${device.extends}.jinja2`,
      ...(dispatcher ? { dispatcher } : {}),
      cases,
      ...(error ? { error } : {}),
      problems,
      messages,
      durationMs: run.durationMs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
