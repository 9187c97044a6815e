import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { caseNames, expectedCases, lavaName, renderJob, setName, sizesSpec, type JobSpec } from '../../src/farm/job.ts';
import { deviceDictText, sshDeviceDict } from '../../src/farm/device.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';

const spec = (over: Partial<JobSpec> = {}): JobSpec => ({
  profile: 'ssh',
  jobName: 'vp9wb test',
  urlBase: 'http://10.0.2.2:8000/b1',
  driver: 'visl',
  mode: 'visl',
  suite: 'vp9-features',
  modules: { sha256: 'a'.repeat(64), names: ['visl'] },
  vectors: [
    { name: 'p0-a.ivf', caseName: 'p0-a-ivf', file: 'p0-a.ivf', sha256: 'b'.repeat(64), demuxer: 'ivfparse', frameSizes: [152064, 152064, 38016] },
    { name: 'p0-b.webm', caseName: 'p0-b-webm', file: 'p0-b.webm', sha256: 'c'.repeat(64), demuxer: 'matroskademux', frameSizes: [100] },
  ],
  ...over,
});

type Job = { device_type: string; actions: Record<string, Record<string, unknown>>[]; timeouts: unknown; tags?: string[] };

function testAction(job: Job) {
  const t = job.actions.find((a) => a.test)!.test as {
    definitions: { from: string; name: string; expected: string[]; repository: { metadata: { format: string; name: string }; run: { steps: string[] } } }[];
  };
  return t.definitions[0]!;
}

describe('LAVA names (KernelCI conventions)', () => {
  it('replace dots and other characters by -', () => {
    expect(lavaName('vp90-2-00-quantizer-00.webm')).toBe('vp90-2-00-quantizer-00-webm');
    expect(lavaName('a b/c')).toBe('a-b-c');
    expect(setName('vp9-features')).toBe('vp9-features-gstreamer-v4l2sl');
  });
  it('refuse two vectors that map to one case', () => {
    expect(() => caseNames(['a.ivf', 'a-ivf'])).toThrow(/both become the LAVA test case a-ivf/);
  });
  it('run-length frame sizes', () => {
    expect(sizesSpec([6, 6, 6, 12, 6])).toBe('3x6+1x12+1x6');
  });
});

describe('renderJob', () => {
  it('ssh: deploy to ssh, boot ssh, an inline definition that installs the modules and decodes every vector, expected lists every case', () => {
    const job = parse(renderJob(spec())) as Job;
    expect(job.device_type).toBe('ssh');
    expect(job.actions[0]!.deploy).toMatchObject({ to: 'ssh', os: 'debian' });
    expect(job.actions[1]!.boot).toMatchObject({ method: 'ssh', connection: 'ssh' });
    const d = testAction(job);
    expect(d.from).toBe('inline');
    expect(d.repository.metadata.format).toBe('Lava-Test Test Definition 1.0');
    expect(d.expected).toEqual(['modules-install', 'decoder-probe', 'p0-a-ivf', 'p0-b-webm']);
    expect(expectedCases(spec())).toEqual(d.expected);
    const [write, runStep] = d.repository.run.steps;
    expect(write).toMatch(/^mkdir -p \/tmp\/wb-lava && cat > \/tmp\/wb-lava\/wb-lava.sh <<'WB_LAVA_EOF'\n/);
    expect(write).toMatch(/\nWB_LAVA_EOF$/);
    expect(runStep).toBe(
      `sh /tmp/wb-lava/wb-lava.sh http://10.0.2.2:8000/b1 visl visl vp9-features-gstreamer-v4l2sl ${'a'.repeat(64)} visl 300 ` +
        `p0-a-ivf:p0-a.ivf:${'b'.repeat(64)}:ivfparse:2x152064+1x38016 p0-b-webm:p0-b.webm:${'c'.repeat(64)}:matroskademux:1x100`,
    );
    for (const n of d.expected) expect(n).not.toContain('.');
  });

  it('farm-rk3588: rk3588-rock-5b, tftp deploy with kernel, dtb, ramdisk, nfsrootfs and the modules overlay, u-boot nfs boot, no module install in the test', () => {
    const job = parse(renderJob(spec({ profile: 'farm-rk3588', driver: 'rkvdec', mode: 'pixels', tags: ['vp9'] }))) as Job;
    expect(job.device_type).toBe('rk3588-rock-5b');
    expect(job.tags).toEqual(['vp9']);
    expect(job.actions[0]!.deploy).toEqual({
      timeout: { minutes: 15 },
      to: 'tftp',
      os: 'debian',
      kernel: { url: 'http://10.0.2.2:8000/b1/farm/Image', type: 'image' },
      dtb: { url: 'http://10.0.2.2:8000/b1/farm/rk3588-rock-5b.dtb' },
      // lava_common/schemas/deploy/tftp.py: ramdisk is a url with `compression` one of bz2, gz, xz, zip, zstd and `header`
      // only "u-boot" (the served file has one to strip); the initramfs has none, and the rk3588-rock-5b device type's
      // add_header (base-uboot.jinja2 default `u-boot`) makes the dispatcher add it
      ramdisk: { url: 'http://10.0.2.2:8000/b1/farm/initrd.cpio.gz', compression: 'gz' },
      nfsrootfs: { url: 'http://10.0.2.2:8000/b1/farm/rootfs.tar.xz', compression: 'xz' },
      overlays: { modules: { url: 'http://10.0.2.2:8000/b1/modules.tar.xz', compression: 'xz', format: 'tar', path: '/' } },
    });
    expect(job.actions[1]!.boot).toMatchObject({ method: 'u-boot', commands: 'nfs' });
    const d = testAction(job);
    expect(d.expected).toEqual(['decoder-probe', 'p0-a-ivf', 'p0-b-webm']);
    expect(d.repository.run.steps[1]).toContain(' rkvdec pixels vp9-features-gstreamer-v4l2sl - visl 300 ');
  });

  it('farm-rk3588: each boot artefact with a known SHA-256 carries sha256sum (LAVA checks it after the download)', () => {
    const sha = { kernel: '1'.repeat(64), dtb: '2'.repeat(64), ramdisk: '3'.repeat(64) };
    const job = parse(renderJob(spec({ profile: 'farm-rk3588', driver: 'rkvdec', mode: 'pixels', farm: { sha256: sha } }))) as Job;
    expect(job.actions[0]!.deploy).toMatchObject({
      kernel: { url: 'http://10.0.2.2:8000/b1/farm/Image', type: 'image', sha256sum: sha.kernel },
      dtb: { url: 'http://10.0.2.2:8000/b1/farm/rk3588-rock-5b.dtb', sha256sum: sha.dtb },
      ramdisk: { url: 'http://10.0.2.2:8000/b1/farm/initrd.cpio.gz', compression: 'gz', sha256sum: sha.ramdisk },
      nfsrootfs: { url: 'http://10.0.2.2:8000/b1/farm/rootfs.tar.xz', compression: 'xz' },
    });
    expect((job.actions[0]!.deploy as { nfsrootfs: object }).nfsrootfs).not.toHaveProperty('sha256sum');
  });

  it('refuses a URL base that would need quoting, naming the option', () => {
    try {
      renderJob(spec({ urlBase: 'http://x/$(reboot)' }));
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_LAVA_URL')).toBe(true);
      expect((e as Error).message).toContain('--url-base');
    }
  });
});

describe('device dictionaries', () => {
  it('ssh device dictionary in lava-server form', () => {
    expect(deviceDictText(sshDeviceDict({ host: '127.0.0.1', port: 2222, user: 'root', identityFile: '/wb-run/id' }))).toBe(
      "{% extends 'ssh.jinja2' %}\n{% set ssh_host = '127.0.0.1' %}\n{% set ssh_port = 2222 %}\n{% set ssh_user = 'root' %}\n{% set ssh_identity_file = '/wb-run/id' %}\n",
    );
  });
  it('refuses values Jinja could misread', () => {
    expect(() => deviceDictText({ extends: 'ssh', vars: { ssh_host: "x' %}{% set y = 1" } })).toThrow(/quote/);
  });
});
