import { describe, expect, it } from 'vitest';
import { pathMapper, RKVDEC_DIR } from '../../src/kernel/moduleLayout.ts';

describe('pathMapper (paths in build output of the out-of-tree module build)', () => {
  const map = pathMapper({ dirs: { rkvdec: RKVDEC_DIR, 'v4l2-core': 'drivers/media/v4l2-core' } }, '/wb/mod', ['/usr/src/linux-headers-7.2.13+deb14-amd64']);

  it('maps headers and overlay paths back to tree paths', () => {
    expect(map('/usr/src/linux-headers-7.2.13+deb14-amd64/include/media/v4l2-vp9.h')).toBe('include/media/v4l2-vp9.h');
    expect(map('.overlay/include/media/v4l2-vp9.h')).toBe('include/media/v4l2-vp9.h');
    expect(map('.overlay/uapi/linux/v4l2-controls.h')).toBe('include/uapi/linux/v4l2-controls.h');
    expect(map('/wb/mod/v4l2-core/v4l2-vp9.c')).toBe('drivers/media/v4l2-core/v4l2-vp9.c');
  });
});
