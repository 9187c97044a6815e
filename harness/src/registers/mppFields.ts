import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEntry } from '../core/cache.ts';
import { ensureMppSource, type MppSource } from './mppSource.ts';
import { memberBases, registerFields, type RegField } from './regFields.ts';

/** MPP files the field table is generated from (paths in MPP's tree). */
export const MPP_REGMAP_FILES = {
  com: 'mpp/hal/rkdec/inc/vdpu34x_com.h',
  vp9: 'mpp/hal/rkdec/inc/vdpu34x_vp9d.h',
  hal: 'mpp/hal/rkdec/vp9d/hal_vp9d_vdpu34x.c',
} as const;

/** The register-set struct of MPP's vdpu34x VP9 HAL. */
export const MPP_VP9_REGSET = 'Vdpu34xVp9dRegSet';

/**
 * The field table of MPP's vdpu34x VP9 register set, generated from the
 * pinned MPP source (struct bit-fields of vdpu34x_vp9d.h / vdpu34x_com.h,
 * register bases from the HAL's `wr_cfg.offset = OFFSET_*` lines) by
 * regFields.ts, cached as `mpp-fields/<key>/fields.json` (key: MPP tree
 * hash + the parser's source hash). Nothing is copied by hand.
 * @throws WorkbenchError `E_REGFIELDS` and the source errors of ensureMppSource.
 */
export async function ensureMppFields(
  opts: { source?: MppSource; cacheRoot?: string; mirror?: string | null; log?: (m: string) => void } = {},
): Promise<{ fields: RegField[]; source: MppSource }> {
  const source = opts.source ?? (await ensureMppSource({ cacheRoot: opts.cacheRoot, mirror: opts.mirror, log: opts.log }));
  const here = dirname(fileURLToPath(import.meta.url));
  const parser = createHash('sha256')
    .update(await readFile(join(here, 'regFields.ts')))
    .update(await readFile(join(here, 'mppFields.ts')))
    .digest('hex');
  const entry = await ensureEntry(
    'mpp-fields',
    { tree: source.manifest.tree_sha256, parser },
    async (tmp) => {
      const read = (rel: string) => readFile(join(source.dir, rel), 'utf8');
      const [com, vp9, hal] = await Promise.all([read(MPP_REGMAP_FILES.com), read(MPP_REGMAP_FILES.vp9), read(MPP_REGMAP_FILES.hal)]);
      const fields = registerFields(
        [
          { file: MPP_REGMAP_FILES.com, text: com },
          { file: MPP_REGMAP_FILES.vp9, text: vp9 },
        ],
        MPP_VP9_REGSET,
        memberBases(hal, com),
      );
      await writeFile(join(tmp, 'fields.json'), JSON.stringify(fields));
      return { files: ['fields.json'], extra: { fields: fields.length } };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  return { fields: JSON.parse(await readFile(join(entry.dir, 'fields.json'), 'utf8')) as RegField[], source };
}
