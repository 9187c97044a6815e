import { readFile } from 'node:fs/promises';
import { WorkbenchError } from '../core/errors.ts';

/** A Debian source package pinned by a lock file of the repository (JSON). */
export interface DebianSourceLock {
  /** Debian source package name (`qemu`, `libvpx`). */
  package: string;
  /** Exact Debian version, e.g. `1:10.2.2+ds-1` or `1.17.0-1`. */
  version: string;
  /** Suite it is fetched from (`sid`). */
  suite: string;
}

/**
 * Reads a Debian source lock (`harness/simboard-qemu/qemu-source.lock`,
 * `harness/simboard-model/libvpx-source.lock`): `package`, `version` and
 * `suite` must be non-empty strings, `version` a Debian version (with an
 * epoch only where `epoch` allows it). Other fields are kept as they are.
 * @throws WorkbenchError E_CONFIG when the file is missing or malformed (names the file and the field).
 */
export async function readDebianSourceLock<T extends DebianSourceLock>(file: string, opts: { epoch: boolean }): Promise<T> {
  let j: Partial<T>;
  try {
    j = JSON.parse(await readFile(file, 'utf8')) as Partial<T>;
  } catch (e) {
    throw new WorkbenchError('E_CONFIG', `${file}: ${(e as Error).message}`, { hint: 'restore it from git' });
  }
  for (const k of ['package', 'version', 'suite'] as const) {
    if (typeof j[k] !== 'string' || !j[k])
      throw new WorkbenchError('E_CONFIG', `${file}: field "${k}" must be a non-empty string`, { hint: 'restore it from git' });
  }
  const re = opts.epoch ? /^[0-9a-z.+:~-]+$/i : /^[0-9a-z.+~-]+$/i;
  if (!re.test(j.version!))
    throw new WorkbenchError('E_CONFIG', `${file}: field "version" ("${j.version}") is not a Debian version${opts.epoch ? '' : ' without epoch'}`);
  return j as T;
}
