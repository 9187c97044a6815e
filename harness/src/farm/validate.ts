import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBundle, jobSpecOf } from './bundle.ts';
import type { FarmChroot } from './chroot.ts';
import { rock5bDeviceDict, sshDeviceDict } from './device.ts';
import { renderJob } from './job.ts';
import { lavaRunLocal, RUN_INSIDE } from './localRun.ts';
import { jobHealth, lavaCases, parseLavaLog, type LavaCase } from './results.ts';

/** /etc/default/tftpd-hpa of a LAVA worker (the layout Debian's tftpd-hpa used to install; /srv/tftp exists in the farm chroot). */
export const TFTPD_DEFAULTS = 'TFTP_USERNAME="tftp"\nTFTP_DIRECTORY="/srv/tftp"\nTFTP_ADDRESS=":69"\nTFTP_OPTIONS="--secure"\n';

/** Outcome of `lava-run --validate`. */
export interface ValidateResult {
  ok: boolean;
  /** LAVA's `validate` case and, when it failed, the job error. */
  cases: LavaCase[];
  error?: string;
  /** The log lines LAVA wrote (errors first). */
  messages: string[];
}

/**
 * Validates a bundle's job with the real lava-run (`--validate`) against the
 * device it is meant for, rendered with LAVA's templates: a stand-in `ssh`
 * device for the ssh profile, an rk3588-rock-5b device for farm-rk3588
 * (with the chroot's tftpd-hpa configuration, which lava-dispatcher reads to
 * find its TFTP directory). The artefacts are served on 127.0.0.1 during
 * validation (LAVA checks that every download URL answers).
 */
export async function validateBundle(chroot: Pick<FarmChroot, 'exec'>, bundleDir: string, tmpRoot: string, log?: (m: string) => void): Promise<ValidateResult> {
  const bundle = await loadBundle(bundleDir);
  const dir = await mkdtemp(join(tmpRoot, 'wb-validate-'));
  try {
    // lava-dispatcher finds its TFTP directory in /etc/default/tftpd-hpa (utils/filesystem.py tftpd_dir);
    // Debian sid's tftpd-hpa no longer ships that file, so the dispatcher configuration is provided here
    const tftpd = join(dir, 'tftpd-hpa');
    await writeFile(tftpd, TFTPD_DEFAULTS);
    // lava-dispatcher checks that the device's SSH identity file exists (it does not connect when validating)
    await writeFile(join(dir, 'id'), 'placeholder: validation only\n', { mode: 0o600 });
    const device =
      bundle.profile === 'ssh' ? sshDeviceDict({ host: '127.0.0.1', port: 22, user: 'root', identityFile: `${RUN_INSIDE}/id` }) : rock5bDeviceDict();
    const run = await lavaRunLocal({
      chroot,
      dir,
      job: (urlBase) => renderJob({ ...jobSpecOf(bundle), urlBase }),
      device,
      artefacts: join(bundleDir, 'artefacts'),
      hostFromBoard: '127.0.0.1',
      validateOnly: true,
      ...(bundle.profile === 'farm-rk3588' ? { binds: [{ host: tftpd, inside: '/etc/default/tftpd-hpa', readOnly: true }] } : {}),
      ...(log ? { log } : {}),
    });
    const entries = parseLavaLog(await readFile(join(run.outDir, 'logs.yaml'), 'utf8'));
    const cases = lavaCases(entries).filter((c) => c.definition === 'lava');
    const v = cases.find((c) => c.case === 'validate');
    const h = jobHealth(entries);
    const messages = entries.filter((e) => e.lvl === 'error' || e.lvl === 'warning').map((e) => String(e.msg));
    return { ok: v?.result === 'pass', cases, ...(h.errorMsg ? { error: h.errorMsg } : {}), messages };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
