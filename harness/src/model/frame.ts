/**
 * Frames of a VP9 stream as the inspector (vectors/inspect.ts) finds them:
 * decode-order frames after superframe splitting (VP9 bitstream spec Annex B)
 * and the geometry of every shown frame.
 */
import type { TraceElement, UncompressedHeader } from './vp9Header.ts';

/**
 * One decodable VP9 frame (after superframe splitting), in decode order.
 * This is the unit the decode stage submits to a stateless decoder (one
 * V4L2 request per FrameInfo, show-existing frames included).
 */
export interface FrameInfo {
  /** 0-based decode-order number over the whole file. */
  index: number;
  /** The container packet it came from. */
  packetIndex: number;
  /** Position inside the packet (0 unless the packet is a superframe). */
  indexInPacket: number;
  /** Number of frames in the packet (1 unless superframe). */
  framesInPacket: number;
  /** Byte offset of the frame in the file. */
  offset: number;
  /** Frame size in bytes (without the superframe index). */
  size: number;
  /** Packet presentation timestamp (container units). */
  pts: number;
  header: UncompressedHeader;
  /** Syntax elements with bit offsets (only with `{ trace: true }`). */
  trace?: TraceElement[];
  /** Shown frame number (output order) when this frame produces output, else null. */
  outputIndex: number | null;
}

/** Geometry of one output (shown) frame, what a decoder must produce. */
export interface OutputFrameGeometry {
  /** 0-based output-order number. */
  index: number;
  /** Decode-order index of the frame that produced it. */
  frameIndex: number;
  width: number;
  height: number;
  bitDepth: 8 | 10 | 12;
  subsamplingX: 0 | 1;
  subsamplingY: 0 | 1;
}
