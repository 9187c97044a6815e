/**
 * Integration test of the KUnit golden header: GCC (in the Debian sid chroot
 * the MPP build uses, with sid's linux-libc-dev UAPI headers) compiles the
 * header `workbench registers kunit-golden` writes, with -Wall -Wextra
 * -Werror, next to the real struct v4l2_ctrl_vp9_compressed_hdr; the
 * program prints the UAPI layout (so the trace parser's member offsets are
 * checked against the real header) and what the C data holds (so the
 * rendering is checked against the data it came from).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../src/core/runner.ts';
import { parseFtrace } from '../../src/decode/visl/ftrace.ts';
import { vp9FrameEvents } from '../../src/decode/visl/vp9FrameTrace.ts';
import { COMPRESSED_HDR_SIZE, compressedHdrOffsets, vp9ProbsEvents } from '../../src/decode/visl/vp9ProbsTrace.ts';
import { loadAllowList } from '../../src/registers/allowList.ts';
import { goldenStream, PROB_SIZE, renderGoldenHeader } from '../../src/registers/kunitGolden.ts';
import { ensureMppChroot } from '../../src/registers/mppChroot.ts';
import { FrameRecordSchema } from '../../src/registers/records.ts';
import type { RegField } from '../../src/registers/regFields.ts';
import { inspectFile } from '../../src/vectors/inspect.ts';

const FIX = join(import.meta.dirname, 'fixtures');
const MPP = join(FIX, 'mpp-p0-intra-only');

describe('KUnit golden header (GCC, real UAPI headers)', () => {
  it("compiles cleanly; the UAPI layout is the parser's; the C data is the data it was made from", async () => {
    const events = parseFtrace(readFileSync(join(FIX, 'visl-p0-intra-only-3frames.trace'), 'utf8')).events;
    const probs = readFileSync(join(MPP, 'delta-probs-0-2.bin'));
    const path = join(FIX, 'p0-intra-only-first2packets.ivf');
    const s = goldenStream({
      vectorPath: path,
      vectorSha256: 'f'.repeat(64),
      frames: (await inspectFile(path)).frames,
      traced: vp9FrameEvents(events),
      probs: vp9ProbsEvents(events),
      mpp: readFileSync(join(MPP, 'records.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => FrameRecordSchema.parse(JSON.parse(l))),
      deltaProbs: [0, 1, 2].map((k) => new Uint8Array(probs.subarray(k * PROB_SIZE, (k + 1) * PROB_SIZE))),
      fields: JSON.parse(readFileSync(join(MPP, 'fields.json'), 'utf8')) as RegField[],
      allow: loadAllowList(),
      count: 3,
    });
    const header = renderGoldenHeader([s], { controls: 'test', mpp: 'test', allowList: 'allow-list.toml' });
    const offsets = compressedHdrOffsets();
    const members = Object.keys(offsets);
    const c = [
      '#include <stdint.h>',
      '#include <stdio.h>',
      '#include <stddef.h>',
      '#include <stdbool.h>',
      'typedef uint8_t u8;',
      'typedef uint16_t u16;',
      'typedef uint32_t u32;',
      '#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))',
      '#include "golden.h"',
      'int main(void)',
      '{',
      '\tconst struct vp9_golden_stream *s = &vp9_golden_streams[0];',
      '\tunsigned int n;',
      '',
      '\tprintf("size %zu\\n", sizeof(struct v4l2_ctrl_vp9_compressed_hdr));',
      ...members.map((m) => `\tprintf("off ${m} %zu\\n", offsetof(struct v4l2_ctrl_vp9_compressed_hdr, ${m}));`),
      '\tprintf("streams %zu %s %u\\n", ARRAY_SIZE(vp9_golden_streams), s->name, s->num_frames);',
      '\tfor (n = 0; n < s->num_frames; n++) {',
      '\t\tconst struct vp9_golden_frame *f = &s->frames[n];',
      '\t\tprintf("frame %u %u %u %u %u %u %u %d %d %d %u %u %u\\n", n, f->params.frame_width_minus_1, f->params.flags, f->stream_len, f->num_regs, f->num_probs, f->num_hdr, f->refs[0].frame, f->refs[1].frame, f->refs[2].frame, f->regs[f->num_regs - 1].n, f->regs[f->num_regs - 1].mask, f->regs[f->num_regs - 1].val);',
      '\t}',
      '\treturn 0;',
      '}',
      '',
    ].join('\n');
    const chroot = await ensureMppChroot({ runner: new ExecaRunner(), log: (m) => process.stderr.write(`[golden.int] ${m}\n`) });
    const dir = mkdtempSync(join(chroot.root, 'tmp', 'wb-golden-'));
    try {
      writeFileSync(join(dir, 'golden.h'), header);
      writeFileSync(join(dir, 'main.c'), c);
      const inside = `/${relative(chroot.root, dir)}`;
      const cc = await chroot.exec(['gcc', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', `${inside}/main`, `${inside}/main.c`], { allowFailure: true });
      expect(cc.stderr).toBe('');
      expect(cc.exitCode).toBe(0);
      const out = (await chroot.exec([`${inside}/main`])).stdout.trim().split('\n');
      expect(out[0]).toBe(`size ${COMPRESSED_HDR_SIZE}`);
      expect(out.slice(1, 1 + members.length)).toEqual(members.map((m) => `off ${m} ${offsets[m]}`));
      expect(out[1 + members.length]).toBe('streams 1 p0-intra-only-first2packets.ivf 3');
      const frames = out.slice(2 + members.length);
      expect(frames).toEqual(
        s.frames.map((f, n) => {
          const last = f.regs.at(-1)!;
          return [
            'frame',
            n,
            f.params.frameWidthMinus1,
            frames[n]!.split(' ')[3], // flags: compared with the V4L2 values below
            f.streamLen,
            f.regs.length,
            [...f.deltaProbs].filter((b) => b).length,
            [...f.probs.bytes].filter((b) => b).length,
            ...f.refs.map((r) => r.frame),
            last.reg,
            last.mask,
            last.value,
          ].join(' ');
        }),
      );
      // V4L2_VP9_FRAME_FLAG_* values (include/uapi/linux/v4l2-controls.h): KEY_FRAME 0x1, SHOW_FRAME 0x2, ... as visl printed their names
      const V4L2: Record<string, number> = {
        KEY_FRAME: 0x1,
        SHOW_FRAME: 0x2,
        ERROR_RESILIENT: 0x4,
        INTRA_ONLY: 0x8,
        ALLOW_HIGH_PREC_MV: 0x10,
        REFRESH_FRAME_CTX: 0x20,
        PARALLEL_DEC_MODE: 0x40,
        X_SUBSAMPLING: 0x80,
        Y_SUBSAMPLING: 0x100,
        COLOR_RANGE_FULL_SWING: 0x200,
      };
      s.frames.forEach((f, n) => expect(Number(frames[n]!.split(' ')[3])).toBe(f.params.flags.reduce((m, x) => m | V4L2[x]!, 0)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
