import { createHash, type Hash } from 'node:crypto';
import type { XXHashAPI } from 'xxhash-wasm';
import { xxh64Hex, xxhashApi } from '../compare/hash.ts';

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
