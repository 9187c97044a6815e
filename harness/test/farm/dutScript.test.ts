import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dutScript, pipelineShell } from '../../src/farm/dutScript.ts';
import { parseDutLines } from '../../src/farm/results.ts';
import { PLANAR_CAPS } from '../../src/decode/plugins.ts';

/**
 * The real DUT script run by a real sh with stand-ins for the board's
 * programs (gst-inspect-1.0, gst-launch-1.0, wget, lava-test-case,
 * lava-test-set): the stand-in decoder writes prepared bytes, and the
 * expected per-frame SHA-256 come from node's crypto over the same bytes.
 * The real GStreamer, LAVA and board run in farm.int.test.ts.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function world() {
  const root = mkdtempSync(join(tmpdir(), 'wb-dut-'));
  const bin = join(root, 'bin');
  const http = join(root, 'http');
  const outs = join(root, 'outs');
  for (const d of [bin, join(http, 'vectors'), join(http, 'refs'), outs]) mkdirSync(d, { recursive: true });
  const exe = (name: string, text: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${text}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  exe(
    'gst-inspect-1.0',
    `case "$1" in
v4l2codecs) echo "  v4l2slvp9dec: V4L2 Stateless VP9 Video Decoder";;
v4l2slvp9dec) printf '  media-device        : The media device\\n                        String. Default: "/dev/media7"\\n  video-device        : The video device\\n                        String. Default: "/dev/video9"\\n';;
esac`,
  );
  // stand-in decoder: writes outs/<input file>.yuv to the sink's location, exits with outs/<input file>.rc (default 0)
  exe(
    'gst-launch-1.0',
    `echo "$@" > "${root}/argv"
for a in "$@"; do case "$a" in location=*) [ -z "\${in:-}" ] && in=\${a#location=} || out=\${a#location=};; esac; done
n=\${in##*/}
[ -f "${outs}/$n.yuv" ] && cp "${outs}/$n.yuv" "$out"
[ -f "${outs}/$n.rc" ] && { echo "ERROR: from element /GstPipeline:pipeline0/GstV4l2CodecVp9Dec:v4l2slvp9dec0: Failed to configure" >&2; exit "$(cat "${outs}/$n.rc")"; }
exit 0`,
  );
  exe(
    'wget',
    `[ "$1" = -q ] && [ "$2" = -O ] || exit 9
p=\${4#http://board-host:8000/}
[ -f "${http}/$p" ] || exit 8
cp "${http}/$p" "$3"`,
  );
  exe('lava-test-case', 'echo "CASE $*"');
  exe('lava-test-set', 'echo "SET $*"');
  return { root, bin, http, outs };
}

function run(w: ReturnType<typeof world>, mode: 'pixels' | 'visl', vectors: string[]) {
  writeFileSync(join(w.root, 'wb-lava.sh'), dutScript());
  const r = spawnSync('sh', [join(w.root, 'wb-lava.sh'), 'http://board-host:8000', '-', mode, 'suite-gstreamer-v4l2sl', '-', '-', '30', ...vectors], {
    env: { PATH: `${w.bin}:/usr/bin:/bin`, WB_LAVA_WORK: join(w.root, 'work') },
    encoding: 'utf8',
  });
  return r;
}

describe('wb-lava.sh (DUT script)', () => {
  it('the pipeline line is the workbench pipeline with the script variables', () => {
    const p = pipelineShell();
    expect(p).toContain(`'location='"$in"`);
    expect(p).toContain('"$el"');
    expect(p).toContain(`videocodectestsink 'location='"$out"`);
    expect(p).toContain(`'${PLANAR_CAPS}'`);
  });

  it('hashes every frame, compares with the references and reports one case per vector in a test set', () => {
    const w = world();
    const frame = (n: number, size = 6) => Buffer.alloc(size, n);
    const vectors: string[] = [];
    const add = (name: string, sizes: number[], produced: Buffer[], refs: Buffer[], rc?: number) => {
      const input = Buffer.from(`vector ${name}`);
      writeFileSync(join(w.http, 'vectors', `${name}.ivf`), input);
      writeFileSync(join(w.http, 'refs', `${name}-ivf.sha256`), refs.map(sha).join('\n') + '\n');
      writeFileSync(join(w.outs, `${name}.ivf.yuv`), Buffer.concat(produced));
      if (rc !== undefined) writeFileSync(join(w.outs, `${name}.ivf.rc`), String(rc));
      const runs = sizes.map((s) => `1x${s}`).join('+');
      vectors.push(`${name}-ivf:${name}.ivf:${sha(input)}:ivfparse:${runs}`);
    };
    const good = [frame(1), frame(2), frame(3)];
    add('good', [6, 6, 6], good, good);
    add('bad1', [6, 6, 6], [frame(1), frame(9), frame(3)], good);
    add('short', [6, 6, 6], [frame(1), frame(2)], good);
    add('extra', [6, 6], [frame(1), frame(2), frame(3)], [frame(1), frame(2)]);
    add('resize', [6, 12], [frame(1), frame(2, 12)], [frame(1), frame(2, 12)]);
    add('failed', [6, 6], [frame(1)], [frame(1), frame(2)], 1);
    const r = run(w, 'pixels', vectors);
    expect(r.status).toBe(0);
    if (process.env.WB_DEBUG) console.log(r.stdout, r.stderr);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('CASE decoder-probe --result pass');
    expect(lines).toContain('SET start suite-gstreamer-v4l2sl');
    expect(lines).toContain('SET stop suite-gstreamer-v4l2sl');
    expect(lines).toContain('CASE good-ivf --result pass');
    expect(lines).toContain('CASE bad1-ivf --result fail --measurement 1 --units frame');
    expect(lines).toContain('CASE short-ivf --result fail --measurement 2 --units frame');
    expect(lines).toContain('CASE extra-ivf --result fail --measurement 2 --units frame');
    expect(lines).toContain('CASE resize-ivf --result pass');
    expect(lines).toContain('CASE failed-ivf --result fail --measurement 1 --units frame');
    const facts = parseDutLines(lines.map((text) => ({ dt: '2026-12-01T00:00:00Z', text })));
    expect(facts.element).toEqual({ element: 'v4l2slvp9dec', media: '/dev/media7', video: '/dev/video9', driver: '-' });
    const bad = facts.vectors.get('bad1-ivf')!;
    expect(bad.exitCode).toBe(0);
    expect(bad.bytes).toBe(18);
    expect(bad.md5).toBe(
      createHash('md5')
        .update(Buffer.concat([frame(1), frame(9), frame(3)]))
        .digest('hex'),
    );
    expect(bad.frames).toEqual([
      { index: 0, bytes: 6, sha256: sha(frame(1)) },
      { index: 1, bytes: 6, sha256: sha(frame(9)) },
      { index: 2, bytes: 6, sha256: sha(frame(3)) },
    ]);
    expect(facts.vectors.get('resize-ivf')!.frames.map((f) => f.bytes)).toEqual([6, 12]);
    expect(facts.vectors.get('extra-ivf')!.frames).toHaveLength(3);
    const failed = facts.vectors.get('failed-ivf')!;
    expect(failed.exitCode).toBe(1);
    expect(failed.gst.join('\n')).toContain('Failed to configure');
  });

  it('visl mode counts frames only; a vector that cannot be downloaded fails and the next still runs', () => {
    const w = world();
    const input = Buffer.from('v');
    writeFileSync(join(w.http, 'vectors', 'a.ivf'), input);
    writeFileSync(join(w.outs, 'a.ivf.yuv'), Buffer.alloc(12, 7));
    const r = run(w, 'visl', [`missing-ivf:missing.ivf:${sha(Buffer.from('x'))}:ivfparse:1x6`, `a-ivf:a.ivf:${sha(input)}:ivfparse:2x6`]);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('CASE missing-ivf --result fail');
    expect(lines).toContain('CASE a-ivf --result pass');
  });

  it('pixels mode: a vector without reference hashes fails instead of passing unchecked', () => {
    const w = world();
    const input = Buffer.from('v');
    writeFileSync(join(w.http, 'vectors', 'a.ivf'), input);
    writeFileSync(join(w.outs, 'a.ivf.yuv'), Buffer.alloc(6, 7));
    const r = run(w, 'pixels', [`a-ivf:a.ivf:${sha(input)}:ivfparse:1x6`]);
    expect(r.stdout).toContain('WB-ERROR a-ivf cannot download the reference hashes');
    expect(r.stdout.split('\n')).toContain('CASE a-ivf --result fail');
  });

  it('a vector whose bytes do not match its SHA-256 is not decoded', () => {
    const w = world();
    writeFileSync(join(w.http, 'vectors', 'a.ivf'), Buffer.from('tampered'));
    const r = run(w, 'visl', [`a-ivf:a.ivf:${sha(Buffer.from('original'))}:ivfparse:1x6`]);
    expect(r.stdout).toContain('WB-ERROR - SHA-256 of http://board-host:8000/vectors/a.ivf is not');
    expect(r.stdout.split('\n')).toContain('CASE a-ivf --result fail');
  });
});
