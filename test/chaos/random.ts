/**
 * The fault plan's randomness: a small seeded generator (mulberry32), so a run is described by
 * its seed. Each part of the run draws from its own stream ({@link SeededRandom.fork}), so adding
 * a fault to one part does not change the draws of the others. Timing still differs between two
 * runs of one seed (the machine's scheduling decides which connection asks first).
 * @module
 */

/** A seeded source of numbers in [0, 1) with the helpers the fault plan needs. */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A whole number from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An independent stream for one part of the run, derived from `seed` and `label`. */
  static fork(seed: number, label: string): SeededRandom {
    let hash = (seed >>> 0) ^ 0x811c9dc5;
    for (const char of label) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    return new SeededRandom(hash);
  }
}
