import { createHash } from 'node:crypto';
import xxhash, { type XXHashAPI } from 'xxhash-wasm';

/** SHA-256 and XXH64 of one frame's bytes (lower-case hex; XXH64 seed 0, 16 digits). */
export interface FrameDigest {
  sha256: string;
  xxh64: string;
}

let api: Promise<XXHashAPI> | null = null;

/** The xxhash-wasm instance (loaded once per process). */
export function xxhashApi(): Promise<XXHashAPI> {
  api ??= xxhash();
  return api;
}

/** XXH64 (seed 0) as 16 lower-case hex digits. */
export function xxh64Hex(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

/** SHA-256 + XXH64 of `bytes` in one call. */
export async function digestFrame(bytes: Uint8Array): Promise<FrameDigest> {
  const x = await xxhashApi();
  return { sha256: createHash('sha256').update(bytes).digest('hex'), xxh64: xxh64Hex(x.h64Raw(bytes)) };
}

/**
 * Incremental SHA-256 + XXH64 of one frame fed in pieces (the streaming
 * hasher uses one per frame and layout).
 */
export class FrameDigester {
  private readonly sha = createHash('sha256');
  private readonly xx;
  private n = 0;

  constructor(x: XXHashAPI) {
    this.xx = x.create64();
  }

  /** Feeds bytes. */
  update(bytes: Uint8Array): void {
    this.sha.update(bytes);
    this.xx.update(bytes);
    this.n += bytes.length;
  }

  /** Bytes fed so far. */
  get length(): number {
    return this.n;
  }

  /** Finishes both hashes. */
  digest(): FrameDigest {
    return { sha256: this.sha.digest('hex'), xxh64: xxh64Hex(this.xx.digest()) };
  }
}
