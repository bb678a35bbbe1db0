/**
 * Bounded min-heaps of (score, image index, location), one per node, packed in flat typed arrays so a scan
 * over thousands of nodes allocates nothing per image.
 *
 * Order: a higher score is better; on equal scores the lower image index is better. Each node's heap keeps
 * its k best entries with the worst at the root, so an image that does not beat the root costs one compare.
 * Until a node has k entries they are kept in arrival order (nothing can be rejected yet), and put in heap
 * order when the k-th arrives: filling costs one store per entry, not a sift each.
 * Heaps of disjoint image ranges merge (`mergeFrom`), which is what a parallel scan needs.
 */
export class ScoreHeaps {
  /** `scores[node * k + slot]`. */
  readonly scores: Float32Array;
  /** Image index per slot. */
  readonly indices: Int32Array;
  /** Flat spatial location (y * width + x) per slot, for the `max` metric; 0 otherwise. */
  readonly locations: Int32Array;
  /** Entries held per node (≤ k). */
  readonly sizes: Int32Array;
  /**
   * Per node, the score an offer must reach to have a chance: the root's score once the heap is full,
   * -Infinity before. A scan compares each of its millions of scores with this one dense array.
   */
  readonly thresholds: Float32Array;
  /**
   * Per node, a score below which offers are not wanted although the heap has room: a chunk of a parallel
   * scan gets the merged heaps' thresholds as floors, since what lies below them can never enter the merged
   * top k (those heaps already hold k better entries). -Infinity by default.
   */
  private floors: Float32Array | undefined;

  constructor(
    readonly nodes: number,
    readonly k: number,
    init?: { scores: Float32Array; indices: Int32Array; locations: Int32Array; sizes: Int32Array },
  ) {
    this.scores = init?.scores ?? new Float32Array(nodes * k);
    this.indices = init?.indices ?? new Int32Array(nodes * k);
    this.locations = init?.locations ?? new Int32Array(nodes * k);
    this.sizes = init?.sizes ?? new Int32Array(nodes);
    this.thresholds = new Float32Array(nodes);
    for (let node = 0; node < nodes; node++) this.updateThreshold(node);
  }

  /** Offers image `index` with `score` to `node`'s heap. */
  push(node: number, score: number, index: number, location = 0): void {
    if (Number.isNaN(score)) return;
    const k = this.k;
    if (k === 0) return;
    const base = node * k;
    const n = this.sizes[node];
    if (n < k) {
      // Not full: appended unordered (the threshold is -Infinity, so every offer comes here); ordered once full.
      this.scores[base + n] = score;
      this.indices[base + n] = index;
      this.locations[base + n] = location;
      this.sizes[node] = n + 1;
      if (n + 1 === k) for (let i = (k >> 1) - 1; i >= 0; i--) this.siftDown(base, i, this.scores[base + i], this.indices[base + i], this.locations[base + i]);
      this.updateThreshold(node);
      return;
    }
    if (!worse(this.scores[base], this.indices[base], score, index)) return;
    this.siftDown(base, 0, score, index, location);
    this.updateThreshold(node);
  }

  /** Puts (score, index, location) into the hole at slot `i` of the full heap at `base`, moving it down to its place. */
  private siftDown(base: number, i: number, score: number, index: number, location: number): void {
    const k = this.k;
    const s = this.scores;
    const ix = this.indices;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      const r = l + 1;
      let c = l;
      if (r < k && worse(s[base + r], ix[base + r], s[base + l], ix[base + l])) c = r;
      if (!worse(s[base + c], ix[base + c], score, index)) break;
      this.move(base + c, base + i);
      i = c;
    }
    s[base + i] = score;
    ix[base + i] = index;
    this.locations[base + i] = location;
  }

  /** Score of `node`'s worst kept entry, or -Infinity while its heap is not full (a fast pre-check). */
  threshold(node: number): number {
    return this.thresholds[node];
  }

  /** Sets the floors (see `floors`); `floors[node]`, one per node. */
  setFloors(floors: Float32Array): void {
    if (floors.length !== this.nodes) throw new Error(`Internal error: ${floors.length} floors for ${this.nodes} nodes.`);
    this.floors = Float32Array.from(floors);
    for (let node = 0; node < this.nodes; node++) this.updateThreshold(node);
  }

  private updateThreshold(node: number): void {
    const t = this.k > 0 && this.sizes[node] < this.k ? -Infinity : this.scores[node * this.k];
    this.thresholds[node] = this.floors && this.floors[node] > t ? this.floors[node] : t;
  }

  /** Adds every entry of `other` (same nodes and k, a disjoint image range). */
  mergeFrom(other: ScoreHeaps): void {
    if (other.nodes !== this.nodes || other.k !== this.k) throw new Error('Cannot merge heaps of different shapes.');
    for (let node = 0; node < other.nodes; node++) {
      const base = node * other.k;
      for (let j = 0; j < other.sizes[node]; j++) {
        const score = other.scores[base + j];
        // Below this heap's full-heap threshold: cannot enter (ties go to push, which keeps the lower index).
        if (score < this.thresholds[node]) continue;
        this.push(node, score, other.indices[base + j], other.locations[base + j]);
      }
    }
  }

  /** `node`'s entries, best first (score descending, ties by lower image index). */
  sorted(node: number): { score: number; index: number; location: number }[] {
    const base = node * this.k;
    const out = [];
    for (let j = 0; j < this.sizes[node]; j++) out.push({ score: this.scores[base + j], index: this.indices[base + j], location: this.locations[base + j] });
    return out.sort((a, b) => b.score - a.score || a.index - b.index);
  }

  private move(from: number, to: number): void {
    this.scores[to] = this.scores[from];
    this.indices[to] = this.indices[from];
    this.locations[to] = this.locations[from];
  }
}

/** Whether (scoreA, indexA) ranks below (scoreB, indexB). */
function worse(scoreA: number, indexA: number, scoreB: number, indexB: number): boolean {
  return scoreA < scoreB || (scoreA === scoreB && indexA > indexB);
}
