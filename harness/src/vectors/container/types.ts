/** One container packet (an IVF frame, a WebM SimpleBlock/Block payload). */
export interface Packet {
  /** 0-based packet number in file order. */
  index: number;
  /** Byte offset of the payload in the file. */
  offset: number;
  /** Payload size in bytes. */
  size: number;
  /** Presentation timestamp in container units (IVF timebase, WebM ms*TimestampScale). */
  pts: number;
  /** The payload bytes (a view into the file buffer). */
  data: Uint8Array;
}

/** A demuxed file: its container and the VP9 packets of its (first) VP9 track. */
export interface Demuxed {
  container: 'ivf' | 'webm';
  /** Codec tag: IVF fourcc (e.g. `VP90`) or Matroska CodecID (`V_VP9`). */
  codec: string;
  /** Size declared by the container (may differ from frame sizes). */
  width: number;
  height: number;
  /** IVF: timebase numerator/denominator; WebM: TimestampScale ns as 1/1e9. */
  timebase: { num: number; den: number };
  packets: Packet[];
}
