import { open } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/cache.ts';
import { randomBytes } from 'node:crypto';
import { MARKER_PREFIX, type KernelLogMarker } from '../../irq/kernelLog.ts';
import type { InspectResult } from '../../vectors/inspect.ts';
import { payloadDigest, type ExpectedPayload } from '../visl/bitstreamCheck.ts';
import { VislSession, type VislCollected } from '../visl/session.ts';
import type { CheckBoard, VectorRun } from './check.ts';

/**
 * Board work shared by the two visl checks (controls, bitstream): one visl
 * reload + trace arming + kernel-log marker before the decode, one trace +
 * dump listing + kernel log (+ board lock release) after it (decode/visl/).
 */

/** Driver name of the virtual stateless decoder (drivers/media/test-drivers/visl). */
export const VISL = 'visl';

/** The visl checks apply to boards whose driver under test is visl. */
export const isVislBoard = (b: CheckBoard): boolean => b.driver === VISL;

/** Detail recorded for the pixels check on a visl board. */
export const PIXELS_NOT_VERIFIED = 'pixels NOT verified: visl does not decode, it draws a test pattern into CAPTURE buffers';

/** Why the IRQ question has no answer on a visl board. */
export const NO_IRQ_ON_VISL = 'the board uses visl, which has no vdpu381 interrupt to instrument';

interface VislShared {
  session: VislSession;
  prepared?: Promise<void>;
  collected?: Promise<VislCollected>;
  payloads?: Promise<ExpectedPayload[]>;
}

function shared(v: VectorRun): VislShared {
  let s = v.shared.get(VISL) as VislShared | undefined;
  if (!s) {
    if (!v.target) throw new Error('the visl checks need a board');
    s = { session: new VislSession(v.target) };
    v.shared.set(VISL, s);
  }
  return s;
}

/** A kernel-log marker like irq/kernelLog.ts writeMarker's, for a script that writes it itself. */
function newMarker(label: string): KernelLogMarker {
  const id = randomBytes(6).toString('hex');
  const safe = label.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);
  return { id, label: safe, text: `${MARKER_PREFIX} ${id} ${safe}` };
}

/**
 * Reloads visl with dumps for the vector's frames, arms the trace and writes
 * the kernel-log marker (once per vector, whichever visl check asks first);
 * probes the decoder again when visl's video node moved.
 */
export function vislPrepared(v: VectorRun): Promise<void> {
  const s = shared(v);
  s.prepared ??= (async () => {
    const decodedCount = v.inspect.frames.filter((f) => !f.header.showExistingFrame).length;
    const m = newMarker(`decode ${v.vector.name}`);
    const p = await s.session.prepare(decodedCount, v.driverParams, m.text, v.vislTracePath ? 'all' : 'frame');
    if (p.marked) v.marker = m;
    v.log(`visl reloaded (${s.session.videoNode}), dumps for ${decodedCount} frames, trace armed${p.marked ? ', kernel-log marker written' : ''}`);
    const bound = await v.decoder.probe();
    if (bound.device?.video && bound.device.video !== s.session.videoNode) {
      v.log(`visl moved from ${bound.device.video} to ${s.session.videoNode}: probing the decoder again`);
      await v.decoder.refresh?.();
    }
  })();
  return s.prepared;
}

/** Trace, dump listing and kernel log after the decode (once per vector); releases the board lock in the same round trip. */
export function vislCollected(v: VectorRun): Promise<VislCollected> {
  const s = shared(v);
  s.collected ??= (async () => {
    const t = Date.now();
    const c = await s.session.collect({ kernelLog: !!v.marker, ...(v.releaseLock ? { releaseLock: v.releaseLock } : {}) });
    if (c.lockReleased) v.lockReleased = true;
    if (v.vislTracePath) {
      await writeFileAtomic(v.vislTracePath, c.traceText);
      v.log(`visl trace (every visl_vp9_controls event) written to ${v.vislTracePath}`);
    }
    if (c.kernelLogText !== undefined) v.kernelLogText = c.kernelLogText;
    v.collectMs += Date.now() - t;
    if (c.trace.entriesWritten !== undefined && c.trace.entriesInBuffer !== undefined && c.trace.entriesWritten > c.trace.entriesInBuffer) {
      v.notes.push(`trace ring buffer overflowed: ${c.trace.entriesWritten - c.trace.entriesInBuffer} events lost`);
    }
    return c;
  })();
  return s.collected;
}

/** SHA-256 of every frame the driver should receive (decode order, show-existing excluded). */
export async function expectedPayloads(file: string, info: InspectResult): Promise<ExpectedPayload[]> {
  const fh = await open(file, 'r');
  try {
    const out: ExpectedPayload[] = [];
    for (const f of info.frames) {
      if (f.header.showExistingFrame) continue;
      const b = Buffer.alloc(f.size);
      await fh.read(b, 0, f.size, f.offset);
      out.push(payloadDigest(f.index, b));
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** The expected payloads of the vector, hashed on the host while the board decodes (once per vector). */
export function vislPayloads(v: VectorRun): Promise<ExpectedPayload[]> {
  const s = shared(v);
  if (!s.payloads) {
    s.payloads = expectedPayloads(v.vector.file, v.inspect);
    s.payloads.catch(() => undefined);
  }
  return s.payloads;
}
