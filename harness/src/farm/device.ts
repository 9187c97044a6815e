import { tail } from '../core/text.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import type { FarmChroot } from './chroot.ts';

/** Where lava-server installs LAVA's device-type templates (Debian lava-server). */
export const DEVICE_TYPES_DIR = '/usr/share/lava-server/device-types';

/** A device dictionary: the device-type template it extends and its variables. */
export interface DeviceDict {
  /** Template name without `.jinja2`, e.g. `ssh`, `rk3588-rock-5b`. */
  extends: string;
  /** `{% set name = value %}` lines (strings are quoted, numbers and booleans as is). */
  vars: Record<string, string | number | boolean>;
}

/**
 * The device dictionary text (`{% extends 'T.jinja2' %}` + `{% set %}`
 * lines), the same form lava-server stores per device.
 * @throws WorkbenchError E_LAVA_DEVICE for a variable name or value Jinja could misread.
 */
export function deviceDictText(d: DeviceDict): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(d.extends)) throw new WorkbenchError('E_LAVA_DEVICE', `device type ${d.extends} is not a template name`);
  const lines = [`{% extends '${d.extends}.jinja2' %}`];
  for (const [k, v] of Object.entries(d.vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new WorkbenchError('E_LAVA_DEVICE', `device variable ${k} is not a name`);
    if (typeof v === 'string' && /['\\\n{}%]/.test(v))
      throw new WorkbenchError('E_LAVA_DEVICE', `device variable ${k}: value holds a quote, backslash, brace, % or newline`);
    lines.push(`{% set ${k} = ${typeof v === 'string' ? `'${v}'` : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)} %}`);
  }
  return lines.join('\n') + '\n';
}

/** What an `ssh` device needs: where the board's sshd listens and the key LAVA logs in with (paths inside the chroot). */
export interface SshDevice {
  host: string;
  port: number;
  user: string;
  /** Identity file path as lava-dispatcher sees it. */
  identityFile: string;
}

/**
 * Device dictionary of an `ssh` device (lava-server's ssh.jinja2). The
 * schroot block is emptied (no schroot on our workers). LAVA passes
 * `-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null` to ssh and
 * scp itself (lava_dispatcher connections/ssh.py); a device dictionary cannot
 * turn host-key checking on.
 */
export function sshDeviceDict(d: SshDevice): DeviceDict {
  return { extends: 'ssh', vars: { ssh_host: d.host, ssh_port: d.port, ssh_user: d.user, ssh_identity_file: d.identityFile } };
}

/**
 * Device dictionary of an RK3588 Rock 5B (lava-server's rk3588-rock-5b.jinja2):
 * console and power commands are whatever the lab uses (placeholders here:
 * `--validate` does not run them).
 */
export function rock5bDeviceDict(o: { connection?: string; powerOn?: string; powerOff?: string; hardReset?: string } = {}): DeviceDict {
  return {
    extends: 'rk3588-rock-5b',
    vars: {
      connection_command: o.connection ?? 'telnet localhost 7001',
      power_on_command: o.powerOn ?? 'pduclient --daemon localhost --hostname pdu --command on --port 1',
      power_off_command: o.powerOff ?? 'pduclient --daemon localhost --hostname pdu --command off --port 1',
      hard_reset_command: o.hardReset ?? 'pduclient --daemon localhost --hostname pdu --command reboot --port 1',
    },
  };
}

/** Python run in the farm chroot: renders `$1` (a device dictionary file) with LAVA's own Jinja environment over its device-type templates. */
const RENDER_PY = `
import sys
from jinja2 import FileSystemLoader
from lava_common.jinja import create_device_templates_env
import yaml
d, name = sys.argv[1], sys.argv[2]
env = create_device_templates_env(loader=FileSystemLoader([d, '${DEVICE_TYPES_DIR}']))
text = env.get_template(name).render()
yaml.safe_load(text)
sys.stdout.write(text)
`;

/**
 * Renders a device dictionary to the device configuration lava-run takes
 * (`--device`), with LAVA's own Jinja environment
 * (lava_common.jinja.create_device_templates_env, the one lava-server uses)
 * over lava-server's device-type templates, inside the farm chroot. The
 * result is checked to parse as YAML.
 * @throws WorkbenchError E_LAVA_DEVICE with Jinja's or YAML's message.
 */
export async function renderDevice(chroot: Pick<FarmChroot, 'exec'>, dict: DeviceDict, hostTmp: string): Promise<string> {
  const dir = await mkdtemp(join(hostTmp, 'wb-device-'));
  try {
    await writeFile(join(dir, 'device.jinja2'), deviceDictText(dict));
    const r = await chroot.exec(['python3', '-c', RENDER_PY, '/wb-device', 'device.jinja2'], {
      binds: [{ host: dir, inside: '/wb-device', readOnly: true }],
      allowFailure: true,
      timeoutMs: 60_000,
    });
    if (r.exitCode !== 0) {
      throw new WorkbenchError('E_LAVA_DEVICE', `rendering the ${dict.extends} device failed:\n${tail(r.stderr, 6)}`, {
        hint: `check the device dictionary variables against ${DEVICE_TYPES_DIR}/${dict.extends}.jinja2`,
      });
    }
    return r.stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
