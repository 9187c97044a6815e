import { stringify } from 'yaml';
import { WorkbenchError } from '../core/errors.ts';
import { dutScript } from './dutScript.ts';

/**
 * LAVA job rendering (Lava-Test Test Definition 1.0 inline, job schema of
 * lava_common/schemas 2026.10).
 *
 * Names follow KernelCI's conventions for LAVA results: test-set and
 * test-case names carry no dots (KCIDB reads dots as hierarchy), so a vector
 * file `p0-foo.ivf` becomes the case `p0-foo-ivf`.
 */

/** Job profiles. */
export const PROFILES = ['ssh', 'farm-rk3588'] as const;
export type Profile = (typeof PROFILES)[number];

/** One vector of a job. */
export interface JobVector {
  /** Vector name as the workbench's reports know it (file name). */
  name: string;
  /** lava-test-case name ({@link caseName}). */
  caseName: string;
  /** Artefact file under `<url base>/vectors/`. */
  file: string;
  sha256: string;
  /** GStreamer demuxer for the container. */
  demuxer: 'ivfparse' | 'matroskademux';
  /** Bytes of every output frame (output order), from the libvpx references. */
  frameSizes: number[];
}

/** The farm boot artefacts (URLs relative to the URL base unless absolute). */
export interface FarmBoot {
  kernel: string;
  dtb: string;
  nfsrootfs: string;
  /**
   * The initramfs (farm/initramfs.ts: a gzip-compressed newc cpio without a
   * U-Boot header) that loads the network and NFS modules and mounts the
   * NFS root: Debian's arm64 kernel cannot mount `root=/dev/nfs` by itself.
   */
  ramdisk: string;
  /** Login prompt of the root filesystem's console and the shell prompt after login. */
  loginPrompt: string;
  shellPrompt: string;
  /** SHA-256 of each artefact, when known: LAVA checks it after the download (`sha256sum:` of a deploy URL). */
  sha256?: Partial<Record<FarmArtefact, string>>;
}

/** The farm boot artefacts a job downloads. */
export type FarmArtefact = 'kernel' | 'dtb' | 'ramdisk' | 'nfsrootfs';

/** Everything a job needs. */
export interface JobSpec {
  profile: Profile;
  jobName: string;
  /** URL base the board downloads artefacts from (modules.tar.xz, vectors/, refs/). */
  urlBase: string;
  /** V4L2 driver to decode with (rkvdec on RK3588, visl on the vboard). */
  driver: string;
  /** `pixels`: frames compared with references; `visl`: count only. */
  mode: 'pixels' | 'visl';
  suite: string;
  /** Modules in modules.tar.xz: SHA-256 of the tarball and module names (reload order). */
  modules: { sha256: string; names: string[] };
  vectors: JobVector[];
  /** ssh profile: the device's shell prompt (regex). */
  prompts?: string[];
  /** farm profile: device tags. */
  tags?: string[];
  /** farm profile: boot artefacts (default names under the URL base: {@link DEFAULT_FARM_BOOT}). */
  farm?: Partial<FarmBoot>;
  /** Per-vector decode timeout, seconds (default 300). */
  vectorTimeoutS?: number;
}

/** Default farm boot artefacts, relative to the URL base. */
export const DEFAULT_FARM_BOOT: FarmBoot = {
  kernel: 'farm/Image',
  dtb: 'farm/rk3588-rock-5b.dtb',
  nfsrootfs: 'farm/rootfs.tar.xz',
  ramdisk: 'farm/initrd.cpio.gz',
  loginPrompt: 'login:',
  shellPrompt: 'root@[^:]*:[^#]*# ',
};

/** LAVA device type of the RK3588 farm profile (lava-server's rk3588-rock-5b.jinja2; KernelCI's labs use it). */
export const FARM_DEVICE_TYPE = 'rk3588-rock-5b';

/** Name of the inline test definition (LAVA's suite becomes `<index>_<name>`). */
export const DEFINITION_NAME = 'vp9wb';

/** Name of the test set of the vectors. */
export function setName(suite: string): string {
  return `${lavaName(suite)}-gstreamer-v4l2sl`;
}

/** A LAVA result name: every character outside `[A-Za-z0-9_-]` (dots included) becomes `-`. */
export function lavaName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '-');
}

/**
 * Case names of the vectors ({@link lavaName}).
 * @throws WorkbenchError E_LAVA_NAME when two vectors map to one case name.
 */
export function caseNames(names: readonly string[]): string[] {
  const seen = new Map<string, string>();
  return names.map((n) => {
    const c = lavaName(n);
    const other = seen.get(c);
    if (other !== undefined) {
      throw new WorkbenchError('E_LAVA_NAME', `vectors ${other} and ${n} both become the LAVA test case ${c}`, {
        hint: 'rename one of them (LAVA and KCIDB names cannot hold dots)',
      });
    }
    seen.set(c, n);
    return c;
  });
}

/** Test cases every job reports besides the vectors (in the order the script reports them). */
export function infraCases(spec: Pick<JobSpec, 'profile'>): string[] {
  return spec.profile === 'ssh' ? ['modules-install', 'decoder-probe'] : ['decoder-probe'];
}

/** `{sha256sum}` of a farm artefact when its hash is known (lava_common's deploy schema accepts md5sum, sha256sum, sha512sum next to url). */
function sum(b: FarmBoot, k: FarmArtefact): { sha256sum?: string } {
  const h = b.sha256?.[k];
  return h ? { sha256sum: h } : {};
}

function url(base: string, p: string): string {
  return /^[a-z]+:\/\//.test(p) ? p : `${base.replace(/\/+$/, '')}/${p}`;
}

const SAFE_URL = /^https?:\/\/[A-Za-z0-9.:[\]_-]+(\/[A-Za-z0-9._~%/+-]*)?$/;

function checkSpec(spec: JobSpec): void {
  if (!SAFE_URL.test(spec.urlBase)) {
    throw new WorkbenchError('E_LAVA_URL', `--url-base ${spec.urlBase} is not a plain http(s) URL`, {
      hint: 'e.g. http://artefacts.lab.example:8000/vp9wb (letters, digits, . _ - / only)',
    });
  }
  if (!/^[A-Za-z0-9_-]+$/.test(spec.driver)) throw new WorkbenchError('E_USAGE', `driver ${spec.driver} is not a driver name`);
  for (const m of spec.modules.names) if (!/^[A-Za-z0-9_-]+$/.test(m)) throw new WorkbenchError('E_USAGE', `module ${m} is not a module name`);
  for (const v of spec.vectors) {
    if (!/^[A-Za-z0-9_-]+$/.test(v.caseName)) throw new WorkbenchError('E_LAVA_NAME', `case name ${v.caseName} holds characters LAVA names cannot`);
    if (!/^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/.test(v.file)) throw new WorkbenchError('E_BAD_NAME', `vector file ${v.file} is not a safe name`);
    if (!/^[0-9a-f]{64}$/.test(v.sha256)) throw new WorkbenchError('E_INTERNAL', `vector ${v.name}: bad SHA-256`);
    if (!v.frameSizes.length || v.frameSizes.some((n) => !Number.isInteger(n) || n <= 0))
      throw new WorkbenchError('E_INTERNAL', `vector ${v.name}: no frame sizes`);
  }
}

/** Run-length form of frame sizes for the DUT script: `COUNTxBYTES+COUNTxBYTES...`. */
export function sizesSpec(sizes: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < sizes.length) {
    let j = i;
    while (j < sizes.length && sizes[j] === sizes[i]) j++;
    out.push(`${j - i}x${sizes[i]}`);
    i = j;
  }
  return out.join('+');
}

/** The command line of the test step that runs the DUT script. */
export function scriptArgs(spec: JobSpec): string[] {
  return [
    spec.urlBase.replace(/\/+$/, ''),
    spec.driver,
    spec.mode,
    setName(spec.suite),
    spec.profile === 'ssh' ? spec.modules.sha256 : '-',
    spec.modules.names.join(',') || '-',
    String(spec.vectorTimeoutS ?? 300),
    ...spec.vectors.map((v) => `${v.caseName}:${v.file}:${v.sha256}:${v.demuxer}:${sizesSpec(v.frameSizes)}`),
  ];
}

/**
 * The inline test definition (Lava-Test Test Definition 1.0): one step
 * writes the DUT script (farm/dutScript.ts) with a quoted here-document, the
 * next runs it. Every argument is made of `[A-Za-z0-9_.:/+x-]` (checked), so
 * the line needs no quoting.
 */
export function testDefinition(spec: JobSpec): Record<string, unknown> {
  const script = dutScript();
  if (/^WB_LAVA_EOF$/m.test(script)) throw new WorkbenchError('E_INTERNAL', 'the DUT script holds its own here-document delimiter');
  const args = scriptArgs(spec);
  for (const a of args) if (!/^[A-Za-z0-9_.:/+x,=-]+$/.test(a)) throw new WorkbenchError('E_INTERNAL', `script argument ${a} needs quoting`);
  return {
    metadata: {
      format: 'Lava-Test Test Definition 1.0',
      name: DEFINITION_NAME,
      description: `VP9 V4L2 stateless decode of ${spec.vectors.length} vectors (${spec.suite}) with GStreamer, per-frame SHA-256 (vp9-workbench)`,
      os: ['debian'],
      scope: ['functional'],
    },
    run: {
      steps: [
        `mkdir -p /tmp/wb-lava && cat > /tmp/wb-lava/wb-lava.sh <<'WB_LAVA_EOF'\n${script.trimEnd()}\nWB_LAVA_EOF`,
        `sh /tmp/wb-lava/wb-lava.sh ${args.join(' ')}`,
      ],
    },
  };
}

/** Every test case the job must report (`expected:`): a case never reported (crash mid-suite) then fails instead of vanishing. */
export function expectedCases(spec: JobSpec): string[] {
  return [...infraCases(spec), ...spec.vectors.map((v) => v.caseName)];
}

/**
 * Renders the LAVA job (YAML text).
 * - `ssh`: `deploy: to: ssh` + `boot: method: ssh` on a self-booting board;
 *   the test step installs the modules with a backup and restores them.
 * - `farm-rk3588`: device type rk3588-rock-5b, `deploy: to: tftp` with the
 *   kernel, dtb, the initramfs as `ramdisk`, the NFS root filesystem and the
 *   modules tarball as an overlay, `boot: method: u-boot, commands: nfs` (a
 *   clean boot per job). The ramdisk is served without a U-Boot header, so
 *   the job sets no `header: u-boot` (lava_common's tftp schema: that value
 *   means "the file has one, strip it"); lava-dispatcher unpacks it, repacks
 *   it with the same `compression`, and adds the legacy header with
 *   `mkimage -A arm64 -T ramdisk -C none` because the rk3588-rock-5b device
 *   type sets no `uboot_ramdisk_format` (base-uboot.jinja2's `add_header`
 *   default `u-boot`; apply_overlay.py CompressRamdisk), so U-Boot's
 *   `booti KERNEL RAMDISK DTB` finds the size in the header.
 * @throws WorkbenchError E_LAVA_URL, E_LAVA_NAME, E_USAGE.
 */
export function renderJob(spec: JobSpec): string {
  checkSpec(spec);
  const minutes = (m: number) => ({ minutes: m });
  const testMinutes = Math.max(10, Math.ceil((spec.vectors.length * (spec.vectorTimeoutS ?? 300)) / 60 / 4) + 5);
  const definition = {
    from: 'inline',
    name: DEFINITION_NAME,
    path: `inline/${DEFINITION_NAME}.yaml`,
    repository: testDefinition(spec),
    expected: expectedCases(spec),
  };
  const test = { test: { timeout: minutes(testMinutes), definitions: [definition] } };
  const common = {
    job_name: spec.jobName,
    priority: 'medium',
    visibility: 'public',
    timeouts: { job: minutes(testMinutes + 20), action: minutes(testMinutes), connection: minutes(2) },
  };
  let job: Record<string, unknown>;
  if (spec.profile === 'ssh') {
    job = {
      device_type: 'ssh',
      ...common,
      actions: [
        { deploy: { timeout: minutes(5), to: 'ssh', os: 'debian' } },
        { boot: { timeout: minutes(5), method: 'ssh', connection: 'ssh', prompts: spec.prompts ?? ['root@[^:]*:[^#]*# '] } },
        test,
      ],
    };
  } else {
    const b = { ...DEFAULT_FARM_BOOT, ...(spec.farm ?? {}) };
    job = {
      device_type: FARM_DEVICE_TYPE,
      ...common,
      ...(spec.tags?.length ? { tags: spec.tags } : {}),
      actions: [
        {
          deploy: {
            timeout: minutes(15),
            to: 'tftp',
            os: 'debian',
            kernel: { url: url(spec.urlBase, b.kernel), type: 'image', ...sum(b, 'kernel') },
            dtb: { url: url(spec.urlBase, b.dtb), ...sum(b, 'dtb') },
            ramdisk: { url: url(spec.urlBase, b.ramdisk), compression: 'gz', ...sum(b, 'ramdisk') },
            nfsrootfs: { url: url(spec.urlBase, b.nfsrootfs), compression: 'xz', ...sum(b, 'nfsrootfs') },
            overlays: { modules: { url: url(spec.urlBase, 'modules.tar.xz'), compression: 'xz', format: 'tar', path: '/' } },
          },
        },
        {
          boot: {
            timeout: minutes(10),
            method: 'u-boot',
            commands: 'nfs',
            auto_login: { login_prompt: b.loginPrompt, username: 'root' },
            prompts: [b.shellPrompt],
          },
        },
        test,
      ],
    };
  }
  return stringify(job, { lineWidth: 0 });
}
