import { createHash, type Hash } from 'node:crypto';
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

/** Per-frame hash algorithms the references carry (vectors engineer's reference files). */
export type FrameHashAlgo = 'xxh64' | 'md5' | 'sha256';

/** An incremental hash (update with chunks, digest once as lowercase hex). */
export interface StreamHash {
  update(b: Uint8Array): void;
  /** Lowercase hex digest; the hasher must not be used afterwards. */
  hex(): string;
}

class NodeHash implements StreamHash {
  private readonly h: Hash;
  constructor(algo: 'md5' | 'sha256') {
    this.h = createHash(algo);
  }
  update(b: Uint8Array): void {
    this.h.update(b);
  }
  hex(): string {
    return this.h.digest('hex');
  }
}

/**
 * Factory of incremental hashers, one algorithm at a time (the comparer
 * hashes each frame once, with the cheapest algorithm the reference has).
 * Digests are written like compare/hash.ts (lower-case hex, XXH64 seed 0).
 */
export class Hashers {
  private constructor(private readonly xx: XXHashAPI) {}

  /** Loads xxhash-wasm (async, once per process). */
  static async load(): Promise<Hashers> {
    return new Hashers(await xxhashApi());
  }

  /** A fresh incremental hasher for `algo`. */
  create(algo: FrameHashAlgo): StreamHash {
    if (algo === 'xxh64') {
      const h = this.xx.create64(0n);
      return {
        update: (b) => void h.update(b),
        hex: () => xxh64Hex(h.digest()),
      };
    }
    return new NodeHash(algo);
  }

  /** One-shot hash of a buffer. */
  digest(algo: FrameHashAlgo, b: Uint8Array): string {
    const h = this.create(algo);
    h.update(b);
    return h.hex();
  }
}

/** Cheapest algorithm first: the comparer hashes each frame once, with the first one the reference has. */
export const ALGO_PREFERENCE: readonly FrameHashAlgo[] = ['xxh64', 'md5', 'sha256'];
