import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMismatch, selectedCaptureFormats } from '../../src/decode/captureFormat.ts';
import { parseProbe, selectElement } from '../../src/decode/backends/gstElements.ts';
import { classifyGstFailure, droppedAtSizeChange, summarizeFormats } from '../../src/decode/backends/gstFailure.ts';
import { parseGstStderr, pipelineArgv, quietGstOutput } from '../../src/decode/backends/gstV4l2sl.ts';
import type { InspectResult } from '../../src/vectors/inspect.ts';

/** v4l2-ctl listings as printed by visl on the vboard (Debian 7.2.13). */
const OUT = `ioctl: VIDIOC_ENUM_FMT
\tType: Video Output Multiplanar

\t[0]: 'SFWH' (FWHT Stateless, compressed)
\t\tSize: Stepwise 640x360 - 4096x2160 with step 1/1
\t[3]: 'VP9F' (VP9 Frame, compressed)
\t\tSize: Stepwise 64x64 - 8192x4352 with step 1/1
`;
const CAP = `ioctl: VIDIOC_ENUM_FMT
\tType: Video Capture Multiplanar

\t[0]: 'NV12' (Y/UV 4:2:0)
\t[1]: 'YU12' (Planar YUV 4:2:0)
`;

describe('element selection', () => {
  const two = parseProbe(
    [
      'GST-VERSION 1.28.8',
      'ELEMENT v4l2slvp9dec /dev/media0 /dev/video0 visl',
      'FORMATS-OUT /dev/video0',
      OUT,
      'FORMATS-CAP /dev/video0',
      CAP,
      'END',
      'ELEMENT v4l2slvideo1vp9dec /dev/media1 /dev/video1 rkvdec',
    ].join('\n'),
  );
  it('parses the probe', () => {
    expect(two.gstVersion).toBe('1.28.8');
    expect(two.elements.map((e) => e.element)).toEqual(['v4l2slvp9dec', 'v4l2slvideo1vp9dec']);
    expect(summarizeFormats(two.formats['/dev/video0']!.output, 'VP9F')).toBe("'VP9F' (Stepwise 64x64 - 8192x4352 with step 1/1)");
    expect(summarizeFormats(two.formats['/dev/video0']!.capture)).toBe("'NV12', 'YU12'");
  });
  it('picks the element bound to the driver, whatever its name', () => {
    expect(selectElement(two, 'rkvdec', 'b').element).toBe('v4l2slvideo1vp9dec');
    expect(selectElement(two, 'visl', 'b').videoDevice).toBe('/dev/video0');
  });
  it('refuses to guess between two decoders and names a missing driver', () => {
    expect(() => selectElement(two, undefined, 'b')).toThrow(/several stateless VP9 decoders/);
    expect(() => selectElement(two, 'hantro', 'b')).toThrow(/no stateless VP9 decoder element is bound to driver 'hantro'.*rkvdec/);
    expect(() => selectElement(parseProbe('GST-VERSION 1.28.8\n'), 'visl', 'b')).toThrow(/no stateless VP9 decoder element/);
  });
  it('names the element in the pipeline (no autoplugging, so ranks cannot pick another decoder)', () => {
    const argv = pipelineArgv('v4l2slvideo1vp9dec', 'ivfparse', '/tmp/wb-decode/a.ivf', '/tmp/wb-decode/a.yuv');
    expect(argv).toContain('v4l2slvideo1vp9dec');
    // the decoder copies each CAPTURE buffer at the display size (rkvdec reports the 64-aligned coded size)
    expect(argv.slice(argv.indexOf('v4l2slvideo1vp9dec') + 1, argv.indexOf('videoconvert'))).toEqual(['!', 'identity', 'drop-allocation=true', '!']);
    // no dithering: 10-bit (NV15 -> I420_10LE) samples pass unchanged
    expect(argv.slice(argv.indexOf('videoconvert'), argv.indexOf('videoconvert') + 3)).toEqual(['videoconvert', 'dither=none', '!']);
    expect(argv.join(' ')).not.toMatch(/decodebin|parsebin/);
    expect(argv.at(-1)).toBe('location=/tmp/wb-decode/a.yuv');
  });
});

describe('decode stderr', () => {
  const stderr = [
    'WB-GST-PID 712',
    'Got message #26 from element "filesrc0" (state-changed): GstMessageStateChanged, old-state=(GstState)null;',
    '0:00:00.887915478        712        721 INFO      v4l2codecs-decoder gstv4l2decoder.c:743:gst_v4l2_decoder_select_src_format:<v4l2decoder1> Selected format NV12 DRM ....:0x00ffffffffffffff 352x288',
    'Got message #91 from element "videocodectestsink0" (element): conformance/checksum, checksum-type=(string)MD5, checksum=(string)e5daedb01d5a1c9c322d8080d5c0ce14;',
    'WB-OPENED /dev/media0',
    'WB-OPENED /dev/video0',
    'WB-EXIT 0',
  ].join('\n');
  it('reads the markers, the sink checksum and the selected CAPTURE format', () => {
    const p = parseGstStderr(stderr);
    expect(p).toMatchObject({ opened: ['/dev/media0', '/dev/video0'], exit: 0, md5: 'e5daedb01d5a1c9c322d8080d5c0ce14' });
    expect(selectedCaptureFormats(p.text)).toEqual(['NV12']);
    expect(quietGstOutput(p.text)).not.toMatch(/state-changed/);
  });
  it('calls an 8-bit 4:2:0 CAPTURE format unable to hold 10-bit or 4:4:4 streams', () => {
    const info = (bitDepth: 8 | 10, ss: 0 | 1, profile: 0 | 1 | 2) =>
      ({ output: [{ bitDepth, subsamplingX: ss, subsamplingY: ss }], frames: [{ header: { profile } }] }) as unknown as InspectResult;
    expect(formatMismatch('NV12', info(8, 1, 0))).toBeUndefined();
    expect(formatMismatch('NV12', info(10, 1, 2))).toMatch(/profile 2, 10-bit 4:2:0.*NV12 \(8-bit 4:2:0\)/);
    expect(formatMismatch('NV12', info(8, 0, 1))).toMatch(/8-bit 4:4:4/);
    expect(formatMismatch('P010', info(10, 1, 2))).toBeUndefined();
  });
});

describe('failure classification', () => {
  const el = { element: 'v4l2slvp9dec', mediaDevice: '/dev/media0', videoDevice: '/dev/video0', driver: 'visl' };
  it('a driver refusal is not-supported and quotes GStreamer and the driver', () => {
    const stderr = [
      '0:00:05.1 712 721 ERROR v4l2codecs-decoder gstv4l2decoder.c:347:gst_v4l2_decoder_set_sink_fmt:<v4l2decoder1> VIDIOC_S_FMT failed: Device or resource busy',
      'ERROR: from element /GstPipeline:pipeline0/GstV4l2CodecVp9Dec:v4l2slvp9dec0: Failed to configure VP9 decoder',
    ].join('\n');
    const c = classifyGstFailure(stderr, el, { output: OUT, capture: CAP });
    expect(c.kind).toBe('not-supported');
    expect(c.reason).toMatch(/^visl refused the stream: VIDIOC_S_FMT failed: Device or resource busy; visl \(\/dev\/video0\) offers OUTPUT 'VP9F'/);
  });
  it("rkvdec refusing a 4:4:4 stream (profile 1) on the simboard is a refusal (GStreamer 1.28.8's words)", () => {
    const stderr = 'ERROR: from element /GstPipeline:pipeline0/v4l2slvp9dec:v4l2slvp9dec0: Driver does not support the selected stream.';
    const c = classifyGstFailure(stderr, { ...el, driver: 'rkvdec' });
    expect(c.kind).toBe('not-supported');
    expect(c.reason).toMatch(/^rkvdec refused the stream: .*Driver does not support the selected stream\./);
  });
  it('anything else is an error', () => {
    const c = classifyGstFailure('ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Could not open file "x" for reading.', el);
    expect(c).toEqual({
      kind: 'error',
      reason: 'gst-launch failed: ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Could not open file "x" for reading.',
    });
  });
});

describe('a decode GStreamer cut short at a size change on an inter frame', () => {
  // Recorded on the simboard (fixtures/README.md): gst-launch exited 0 after 30 of 120 frames.
  const stderr = readFileSync(join(import.meta.dirname, 'fixtures/gst-resize-inter-rkvdec.stderr'), 'utf8');
  it('is not supported (by the userspace decoder), naming the new size and the frames dropped', () => {
    const why = droppedAtSizeChange(stderr);
    expect(why).toMatch(/changes the size to 480x270 on an inter frame/);
    expect(why).toMatch(/and the 89 frames after it/); // 120 frames in the stream, 30 decoded, the 31st dropped at the change
    expect(why).toMatch(/never reached the driver/);
  });
  it('says nothing about a decode without that drop', () => {
    expect(droppedAtSizeChange(stderr.replace(/.*non-keyframe format change.*\n/, ''))).toBeUndefined();
  });
  it('keeps the drop in the stderr tail and leaves the per-frame drops out', () => {
    const q = quietGstOutput(stderr);
    expect(q).toMatch(/Drop frame on non-keyframe format change/);
    expect(q).toMatch(/frame resolution changed 480x270/);
    expect(q).not.toMatch(/Drop frame before initial keyframe/);
  });
});
