import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import {
  enabledCompatibles,
  FARM_INITRAMFS_MODULES,
  farmInitramfsModules,
  moduleName,
  ofAliasModules,
  parseFdt,
  seriesDependencies,
} from '../../src/farm/initramfs.ts';

/**
 * The farm initramfs's pure parts, against independent sources:
 * - device tree blobs written here from the Devicetree Specification v0.4
 *   chapter 5 (header of ten big-endian u32, memory reservation block ending
 *   in a zero pair, structure block tokens BEGIN_NODE 1, END_NODE 2, PROP 3
 *   with len and name offset, END 9, names and values padded to 4 bytes,
 *   then the strings block);
 * - modules.alias / modules.dep lines in the forms kmod's depmod writes
 *   (`alias of:N*T*C<compatible>C* module` and without the trailing `C*`,
 *   as scripts/mod/file2alias.c makes them for an of_device_id with a
 *   compatible only; `path: dep-path...`), module paths of Debian's arm64
 *   linux-modules 7.2.13-1;
 * - /init's command-line handling, run by the host's busybox sh and dash on
 *   the kernel command line LAVA's rk3588-rock-5b u-boot `nfs` commands set
 *   (lava-server's base-uboot.jinja2: `{{ console_device }}{{ baud_rate }}
 *   root=/dev/nfs rw {{ base_nfsroot_args }} {{ base_kernel_args }} {{
 *   base_ip_args }}` with base.jinja2's `nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard`
 *   and `ip=dhcp`), and the forms of Documentation/admin-guide/nfs/nfsroot.rst.
 */

type Node = { name: string; props?: Record<string, string | string[]>; children?: Node[] };

function fdt(root: Node): Buffer {
  const strings: string[] = [];
  const strOff = (n: string) => {
    let off = 0;
    for (const s of strings) {
      if (s === n) return off;
      off += s.length + 1;
    }
    strings.push(n);
    return off;
  };
  const words: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    words.push(b);
  };
  const padded = (b: Buffer) => words.push(Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]));
  const node = (n: Node) => {
    u32(1);
    padded(Buffer.from(`${n.name}\0`, 'latin1'));
    for (const [k, v] of Object.entries(n.props ?? {})) {
      const value = Buffer.from((Array.isArray(v) ? v : [v]).map((s) => `${s}\0`).join(''), 'latin1');
      u32(3);
      u32(value.length);
      u32(strOff(k));
      padded(value);
    }
    for (const c of n.children ?? []) node(c);
    u32(2);
  };
  node(root);
  u32(9);
  const struct = Buffer.concat(words);
  const str = Buffer.from(strings.map((s) => `${s}\0`).join(''), 'latin1');
  const rsv = Buffer.alloc(16);
  const offRsv = 40;
  const offStruct = offRsv + rsv.length;
  const offStrings = offStruct + struct.length;
  const h = Buffer.alloc(40);
  [0xd00dfeed, offStrings + str.length, offStruct, offStrings, offRsv, 17, 16, 0, str.length, struct.length].forEach((v, i) => h.writeUInt32BE(v, i * 4));
  return Buffer.concat([h, rsv, struct, str]);
}

/** A ROCK 5B-like tree: an enabled PCIe controller, its combo PHY, a disabled Ethernet MAC, a GPIO bank under pin control, an SPI bus with a PMIC. */
const BOARD = fdt({
  name: '',
  props: { compatible: ['radxa,rock-5b', 'rockchip,rk3588'] },
  children: [
    { name: 'pcie@fe190000', props: { compatible: ['rockchip,rk3588-pcie', 'rockchip,rk3568-pcie'], status: 'okay' } },
    { name: 'phy@fee20000', props: { compatible: 'rockchip,rk3588-naneng-combphy', status: 'okay' } },
    {
      name: 'ethernet@fe1c0000',
      props: { compatible: ['rockchip,rk3588-gmac', 'snps,dwmac-4.20a'], status: 'disabled' },
      children: [{ name: 'mdio', props: { compatible: 'snps,dwmac-mdio' } }],
    },
    { name: 'pinctrl', props: { compatible: 'rockchip,rk3588-pinctrl' }, children: [{ name: 'gpio@fd8a0000', props: { compatible: 'rockchip,gpio-bank' } }] },
    {
      name: 'spi@feb20000',
      props: { compatible: ['rockchip,rk3588-spi', 'rockchip,rk3066-spi'], status: 'okay' },
      children: [{ name: 'pmic@0', props: { compatible: 'rockchip,rk806' } }],
    },
    { name: 'hdmi@fde80000', props: { compatible: 'rockchip,rk3588-dw-hdmi-qp', status: 'okay' } },
  ],
});

const ALIAS = [
  'alias of:N*T*Crockchip,rk3588-naneng-combphyC* phy_rockchip_naneng_combphy',
  'alias of:N*T*Crockchip,rk3588-naneng-combphy phy_rockchip_naneng_combphy',
  'alias of:N*T*Crockchip,gpio-bankC* gpio_rockchip',
  'alias of:N*T*Crockchip,gpio-bank gpio_rockchip',
  'alias of:N*T*Crockchip,rk3066-spiC* spi_rockchip',
  'alias of:N*T*Crockchip,rk3066-spi spi_rockchip',
  'alias of:N*T*Csnps,dwmac-4.20aC* stmmac_platform',
  'alias of:N*T*Crockchip,rk3588-gmacC* dwmac_rk',
  'alias of:N*T*Crockchip,rk3588-dw-hdmi-qpC* rockchipdrm',
  'alias pci:v000010ECd00008125sv*sd*bc*sc*i* r8169',
].join('\n');

const DEP = [
  'kernel/drivers/phy/rockchip/phy-rockchip-naneng-combphy.ko.xz:',
  'kernel/drivers/gpio/gpio-rockchip.ko.xz:',
  'kernel/drivers/spi/spi-rockchip.ko.xz:',
  'kernel/drivers/net/ethernet/stmicro/stmmac/stmmac-platform.ko.xz: kernel/drivers/net/ethernet/stmicro/stmmac/stmmac.ko.xz',
  'kernel/drivers/net/ethernet/stmicro/stmmac/stmmac.ko.xz:',
  'kernel/drivers/net/ethernet/stmicro/stmmac/dwmac-rk.ko.xz:',
  'kernel/drivers/gpu/drm/rockchip/rockchipdrm.ko.xz:',
  'kernel/drivers/regulator/rk808-regulator.ko.xz:',
  'kernel/drivers/net/phy/realtek/realtek.ko.xz:',
  'kernel/drivers/net/ethernet/realtek/r8169.ko.xz:',
  'kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz',
  'kernel/net/core/failover.ko.xz:',
  'kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz',
  'kernel/net/sunrpc/sunrpc.ko.xz:',
  'kernel/fs/nfs_common/grace.ko.xz:',
  'kernel/fs/lockd/lockd.ko.xz: kernel/fs/nfs_common/grace.ko.xz kernel/net/sunrpc/sunrpc.ko.xz',
  'kernel/fs/netfs/netfs.ko.xz:',
  'kernel/fs/nfs/nfs.ko.xz: kernel/fs/lockd/lockd.ko.xz kernel/fs/nfs_common/grace.ko.xz kernel/net/sunrpc/sunrpc.ko.xz kernel/fs/netfs/netfs.ko.xz',
  'kernel/fs/nfs_common/nfs_acl.ko.xz: kernel/net/sunrpc/sunrpc.ko.xz',
  'kernel/fs/nfs/nfsv3.ko.xz: kernel/fs/nfs_common/nfs_acl.ko.xz kernel/fs/nfs/nfs.ko.xz kernel/fs/lockd/lockd.ko.xz kernel/fs/nfs_common/grace.ko.xz kernel/net/sunrpc/sunrpc.ko.xz kernel/fs/netfs/netfs.ko.xz',
  'kernel/net/dns_resolver/dns_resolver.ko.xz:',
  'kernel/fs/nfs/nfsv4.ko.xz: kernel/net/dns_resolver/dns_resolver.ko.xz kernel/fs/nfs/nfs.ko.xz kernel/fs/lockd/lockd.ko.xz kernel/fs/nfs_common/grace.ko.xz kernel/net/sunrpc/sunrpc.ko.xz kernel/fs/netfs/netfs.ko.xz',
  'kernel/drivers/media/mc/mc.ko.xz:',
  'kernel/drivers/media/v4l2-core/videodev.ko.xz: kernel/drivers/media/mc/mc.ko.xz',
  'kernel/drivers/media/common/videobuf2/videobuf2-common.ko.xz: kernel/drivers/media/mc/mc.ko.xz',
  'kernel/drivers/media/common/videobuf2/videobuf2-v4l2.ko.xz: kernel/drivers/media/common/videobuf2/videobuf2-common.ko.xz kernel/drivers/media/v4l2-core/videodev.ko.xz kernel/drivers/media/mc/mc.ko.xz',
  'kernel/drivers/media/v4l2-core/v4l2-mem2mem.ko.xz: kernel/drivers/media/common/videobuf2/videobuf2-v4l2.ko.xz kernel/drivers/media/common/videobuf2/videobuf2-common.ko.xz kernel/drivers/media/v4l2-core/videodev.ko.xz kernel/drivers/media/mc/mc.ko.xz',
  'kernel/drivers/media/common/videobuf2/videobuf2-memops.ko.xz:',
  'kernel/drivers/media/common/videobuf2/videobuf2-dma-contig.ko.xz: kernel/drivers/media/common/videobuf2/videobuf2-memops.ko.xz kernel/drivers/media/common/videobuf2/videobuf2-common.ko.xz kernel/drivers/media/mc/mc.ko.xz',
  'kernel/drivers/media/v4l2-core/v4l2-vp9.ko.xz:',
  'kernel/drivers/media/platform/rockchip/rkvdec/rockchip-vdec.ko.xz: kernel/drivers/media/v4l2-core/v4l2-vp9.ko.xz kernel/drivers/media/v4l2-core/v4l2-mem2mem.ko.xz',
].join('\n');

describe('device tree blob', () => {
  it('parses nodes, paths and properties', () => {
    const root = parseFdt(BOARD);
    expect(root.path).toBe('/');
    expect(root.children.map((c) => c.path)).toEqual(['/pcie@fe190000', '/phy@fee20000', '/ethernet@fe1c0000', '/pinctrl', '/spi@feb20000', '/hdmi@fde80000']);
    expect(root.children[3]!.children[0]!.path).toBe('/pinctrl/gpio@fd8a0000');
    expect(root.children[0]!.props.get('compatible')!.toString('latin1')).toBe('rockchip,rk3588-pcie\0rockchip,rk3568-pcie\0');
  });

  it('lists the compatibles of enabled nodes only (a disabled node hides its children)', () => {
    const c = enabledCompatibles(parseFdt(BOARD));
    expect(c).toContain('rockchip,gpio-bank');
    expect(c).toContain('rockchip,rk806');
    expect(c).toContain('rockchip,rk3066-spi');
    expect(c).not.toContain('rockchip,rk3588-gmac');
    expect(c).not.toContain('snps,dwmac-mdio');
  });

  it('refuses what is not a device tree blob', () => {
    try {
      parseFdt(Buffer.from('not a device tree blob at all, no magic here'));
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_FARM_INITRAMFS')).toBe(true);
    }
  });
});

describe('initramfs modules', () => {
  it('maps compatibles to modules through of: aliases, both alias forms, nothing else', () => {
    const m = ofAliasModules(ALIAS, ['rockchip,rk3588-naneng-combphy', 'rockchip,rk3066-spi', 'rockchip,rk3588-pcie']);
    expect([...m]).toEqual([
      ['phy_rockchip_naneng_combphy', ['rockchip,rk3588-naneng-combphy']],
      ['spi_rockchip', ['rockchip,rk3066-spi']],
    ]);
  });

  it('takes the network and NFS modules by name, the board modules of network-path folders by device tree, dependencies first', () => {
    const s = farmInitramfsModules({ modulesDep: DEP, modulesAlias: ALIAS, dtb: BOARD });
    // virtio_pci is built into Debian's arm64 kernel: not in modules.dep, left out
    expect(s.byName).toEqual(['realtek', 'r8169', 'virtio_net', 'nfs', 'nfsv3', 'nfsv4']);
    expect(FARM_INITRAMFS_MODULES).toContain('virtio_pci');
    // the HDMI controller is enabled but its driver is display (drivers/gpu): not the network's way; the GMAC is disabled
    expect([...s.board.keys()].sort()).toEqual(['gpio_rockchip', 'phy_rockchip_naneng_combphy', 'rk808_regulator', 'spi_rockchip']);
    const pos = (p: string) => s.paths.indexOf(p);
    for (const [mod, deps] of [
      ['kernel/fs/nfs/nfsv4.ko.xz', ['kernel/fs/nfs/nfs.ko.xz', 'kernel/net/sunrpc/sunrpc.ko.xz', 'kernel/net/dns_resolver/dns_resolver.ko.xz']],
      ['kernel/fs/lockd/lockd.ko.xz', ['kernel/fs/nfs_common/grace.ko.xz']],
      ['kernel/drivers/net/virtio_net.ko.xz', ['kernel/drivers/net/net_failover.ko.xz', 'kernel/net/core/failover.ko.xz']],
    ] as const) {
      expect(pos(mod), mod).toBeGreaterThan(-1);
      for (const d of deps) expect(pos(d), `${d} before ${mod}`).toBeLessThan(pos(mod));
      for (const d of deps) expect(pos(d)).toBeGreaterThan(-1);
    }
    expect(new Set(s.paths).size).toBe(s.paths.length);
    expect(s.paths).not.toContain('kernel/drivers/gpu/drm/rockchip/rockchipdrm.ko.xz');
  });

  it("adds the Debian modules the series' rockchip-vdec depends on, with theirs, and none of the series' own", () => {
    // depends= of the series' rockchip-vdec as modinfo prints it (module names with -, as the kernel writes them)
    const deps = seriesDependencies(
      [
        { name: 'rockchip-vdec.ko', depends: ['v4l2-mem2mem', 'videobuf2-dma-contig', 'v4l2-vp9', 'videobuf2-v4l2', 'videodev', 'videobuf2-common', 'mc'] },
        { name: 'vdec-helper.ko', depends: [] },
      ],
      DEP,
    );
    expect(deps.map(moduleName).sort()).toEqual(
      ['mc', 'v4l2_mem2mem', 'v4l2_vp9', 'videobuf2_common', 'videobuf2_dma_contig', 'videobuf2_memops', 'videobuf2_v4l2', 'videodev'].sort(),
    );
    expect(deps.indexOf('kernel/drivers/media/mc/mc.ko.xz')).toBeLessThan(deps.indexOf('kernel/drivers/media/v4l2-core/v4l2-mem2mem.ko.xz'));
    expect(deps).not.toContain('kernel/drivers/media/platform/rockchip/rkvdec/rockchip-vdec.ko.xz');
    expect(
      seriesDependencies(
        [
          { name: 'a.ko', depends: ['b'] },
          { name: 'b.ko', depends: [] },
        ],
        DEP,
      ),
    ).toEqual([]);
    try {
      seriesDependencies([{ name: 'rockchip-vdec.ko', depends: ['v4l2-h265'] }], DEP);
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_FARM_INITRAMFS')).toBe(true);
      expect((e as Error).message).toMatch(/rockchip-vdec\.ko depends on v4l2-h265/);
    }
  });
});

const INIT = fileURLToPath(new URL('../../src/farm/farm-initramfs-init.sh', import.meta.url));
/** Runs `body` after sourcing /init's functions (WB_INITRAMFS_LIB=1) with each shell. */
function withInit(shell: string[], body: string): string {
  return execFileSync(shell[0]!, [...shell.slice(1), '-c', `WB_INITRAMFS_LIB=1; . "$1"; ${body}`, 'sh', INIT], { encoding: 'utf8' });
}
const SHELLS: string[][] = [['busybox', 'sh'], ['dash']];
// what the rk3588-rock-5b u-boot nfs commands set (the double space: base_kernel_args is empty)
const LAVA_CMDLINE = 'console=ttyS2,1500000n8 root=/dev/nfs rw nfsroot=192.168.1.10:/var/lib/lava/dispatcher/tmp/77/extract-nfsrootfs-x1y2/,tcp,hard  ip=dhcp';

describe.each(SHELLS)('/init command-line handling (%s)', (...shell) => {
  it("reads LAVA's nfs boot arguments: server, path, options, mount options with nolock, vers=3 and addr", () => {
    const out = withInit(
      shell,
      `c='${LAVA_CMDLINE}'; wb_arg root "$c"; wb_arg ip "$c"; n=$(wb_arg nfsroot "$c"); wb_nfsroot "$n" && echo "S=$nfs_server P=$nfs_path O=$nfs_opts"; wb_mount_opts "$nfs_opts" "$nfs_server"; wb_ip_mode "$(wb_arg ip "$c")"; wb_arg init "$c" || echo no-init`,
    );
    expect(out.split('\n')).toEqual([
      '/dev/nfs',
      'dhcp',
      'S=192.168.1.10 P=/var/lib/lava/dispatcher/tmp/77/extract-nfsrootfs-x1y2/ O=tcp,hard',
      'vers=3,tcp,hard,nolock,addr=192.168.1.10',
      'dhcp',
      'no-init',
      '',
    ]);
  });

  it('takes the server from DHCP when nfsroot names none, keeps a given version and lock option, and fails with no server at all', () => {
    const out = withInit(
      shell,
      `wb_nfsroot /srv/root 10.0.2.2 && echo "$nfs_server $nfs_path [$nfs_opts]"; wb_nfsroot /srv/root '' || echo no-server; wb_mount_opts vers=4.2,port=20490 10.0.2.2; wb_mount_opts nfsvers=3,lock h; wb_mount_opts v4.1 h; wb_mount_opts '' 10.0.0.1`,
    );
    expect(out.split('\n')).toEqual([
      '10.0.2.2 /srv/root []',
      'no-server',
      'vers=4.2,port=20490,nolock,addr=10.0.2.2',
      'nfsvers=3,lock,addr=h',
      'v4.1,nolock,addr=h',
      'vers=3,nolock,addr=10.0.0.1',
      '',
    ]);
  });

  it('tells the ip= forms apart (nfsroot.rst: dhcp/on/any/bootp, off/none, the colon form with its autoconf field; none: dhcp) and takes the last of a repeated argument', () => {
    const out = withInit(
      shell,
      `for a in dhcp on any bootp off none '' 10.0.0.5::10.0.0.1:255.255.255.0:::off:8.8.8.8: 10.0.0.5::::b5:eth1:dhcp; do wb_ip_mode "$a"; done; wb_ip_field 10.0.0.5::10.0.0.1:255.255.255.0:b5:eth1:off 6; wb_arg ip 'ip=off ip=dhcp'`,
    );
    expect(out.split('\n')).toEqual(['dhcp', 'dhcp', 'dhcp', 'dhcp', 'off', 'off', 'dhcp', 'static', 'dhcp', 'eth1', 'dhcp', '']);
  });
});
