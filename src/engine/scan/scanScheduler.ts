/* eslint-disable max-lines -- Over 300 lines because it is one scheduler: the chunk queue, the scanned prefix, this process's chunks and the helpers' lanes share one state (ScanScheduler). */
/**
 * The scheduler of one scan (topActivations.ts wraps it with the index, its reuse and its checkpoints): the
 * images `[start, ds.size)` cut into chunks that this process and helper engine processes (parallelScan.ts)
 * take in order. A chunk this process takes at the end of the scanned prefix goes straight into `state`; any
 * other finished chunk waits until the prefix reaches it, so `state` always holds exactly the images
 * `[0, cursor.next)`. Helpers already running join at once; new ones start only when this process's first
 * batches show the scan would otherwise last longer than the cold-start time.
 */
import type { Dataset } from '../datasets/dataset';
import { CancelledError } from '../runtime/errors';
import type { Job } from '../runtime/job';
import type { Network } from '../models/network';
import { acquireHelpers, coldStartSeconds, idleHelpers, releaseHelpers, type ScanHelper } from './parallelScan';
import { emptyScanState, mergeScanStates, scanFloors, scanRange, type ScanState } from './scan';
import type { IndexHeader } from './scanIndex';

/** Scans shorter than this many batches stay in one process (helpers would cost more than they give). */
const MIN_PARALLEL_BATCHES = 8;
/** A chunk of a parallel scan is about 1/(GUIDE × processes) of the images left (`chunkPlan`). */
const GUIDE = 3;
/** Requests a helper holds at once (the next one waits in its engine's queue). */
const HELPER_DEPTH = 2;
/** How long a cancelled or failed scan waits for its helpers to stop before stopping their processes. */
const HELPER_CANCEL_MS = 5000;
/**
 * A scan starts new helper processes only when this process alone would need longer than this for the rest.
 * A new helper needs its engine to start (about 0.2 s measured here) and the lens opened; it joins for
 * whatever chunks are left, then stays up idle for the next scan (a retrained model is usually scanned again).
 */
const COLD_START_SECONDS = 1;

export interface ParallelOptions {
  /** Processes in all, this one included. */
  workers: number;
  enginePath: string;
  /** The lens file the helpers open (the same model and dataset as this scan). */
  lensPath: string;
  /** Use helpers only when at least this many images are left to scan (default: 8 batches). */
  minImages?: number;
  /** Start new helper processes only when the rest would take this process longer than this (default 1 s). */
  coldStartSeconds?: number;
}

/** What one scan schedules, and where it reports. */
export interface ScanPlan {
  model: Network;
  /** The hash of the model's weights (helpers check they loaded the same). */
  weightsHash: string;
  ds: Dataset;
  layers: IndexHeader['layers'];
  k: number;
  batchSize: number;
  /** Holds the images `[0, cursor.next)`; the scan merges into it in image order. */
  state: ScanState;
  /** The scanned prefix: `next` grows as chunks are merged into `state`. */
  cursor: { next: number };
  job: Job;
  parallel?: ParallelOptions;
  /** Called each time the prefix grew (the wrapper's checkpoint rule). */
  onAdvance(): Promise<void>;
  /** Called when the scan fails or is cancelled, before helpers are stopped (the wrapper's last checkpoint). */
  onFailure(e: unknown): Promise<void>;
}

/**
 * Scans `[plan.cursor.next, plan.ds.size)` into `plan.state`, with helper processes when `plan.parallel` allows
 * and the rest is long enough. Returns the number of images the helpers scanned. Helpers are released to the
 * idle pool when it ends, however it ends; a failing or cancelled scan throws after `onFailure`.
 */
export async function runScan(plan: ScanPlan): Promise<{ helperImages: number }> {
  const scheduler = new ScanScheduler(plan);
  let finished = false;
  try {
    await scheduler.scanHere();
    finished = true;
  } catch (e) {
    await plan.onFailure(e);
    throw e;
  } finally {
    await scheduler.stop(finished);
  }
  scheduler.throwLaneFailure();
  return { helperImages: scheduler.helperImages };
}

/**
 * The chunks of `[start, end)` for `workers` processes, in whole batches: each about 1/(`GUIDE` × workers)
 * of what is left when it is taken, so early chunks are large (few requests, each with its fixed cost) and
 * the last ones a batch, so no process waits long for another's last chunk at the end.
 */
export function chunkPlan(start: number, end: number, batchSize: number, workers: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = start; s < end;) {
    const size = batchSize * Math.max(1, Math.ceil((end - s) / (GUIDE * workers) / batchSize));
    out.push([s, Math.min(end, s + size)]);
    s += size;
  }
  return out;
}

/** The state of one running scan: the chunk queue, finished and running chunks, helpers and their loops. */
class ScanScheduler {
  private readonly helperCount: number;
  private readonly queue: [number, number][];
  /** Finished chunks waiting for the prefix to reach them, by chunk start. */
  private readonly done = new Map<number, ScanState>();
  /** Images done so far in chunks that are running, by chunk start. */
  private readonly running = new Map<number, number>();
  private readonly helpers: ScanHelper[];
  private readonly active: Set<ScanHelper>;
  /** Every helper loop started; the array only grows. */
  private readonly loops: Promise<void>[];
  /** This process's job without progress (progress is reported for the whole scan by `report`). */
  private readonly quiet: Job;
  helperImages = 0;
  /** Set once the scan has ended (done, failed or cancelled): lanes take no more chunks. */
  private ended = false;
  private laneFailure: unknown;
  private over!: () => void;
  private readonly scanOver = new Promise<void>((r) => (this.over = r));
  private readonly localStart = Date.now();
  private localImages = 0;
  private coldChecked = false;

  constructor(private readonly plan: ScanPlan) {
    const { ds, batchSize, parallel: par, job } = plan;
    const start = plan.cursor.next;
    const rest = ds.size - start;
    this.helperCount = par && rest >= (par.minImages ?? MIN_PARALLEL_BATCHES * batchSize) ? Math.max(0, Math.floor(par.workers) - 1) : 0;
    this.queue = this.helperCount > 0 ? chunkPlan(start, ds.size, batchSize, this.helperCount + 1) : [[start, ds.size]];
    // Warm helpers join at once; new ones are started only when this process's first batches show the scan
    // will last long enough for them to pay (see COLD_START_SECONDS).
    this.helpers = this.helperCount > 0 ? idleHelpers(par!.enginePath, this.helperCount) : [];
    this.active = new Set(this.helpers);
    this.quiet = {
      get cancelled() {
        return job.cancelled;
      },
      throwIfCancelled: () => job.throwIfCancelled(),
      progress: () => {},
    };
    this.loops = this.helpers.map((h) => this.helperLoop(h));
  }

  private get next(): number {
    return this.plan.cursor.next;
  }

  private report(): void {
    const { ds, job } = this.plan;
    let doneImages = this.next;
    for (const st of this.done.values()) doneImages += st.images;
    for (const n of this.running.values()) doneImages += n;
    job.progress({
      fraction: doneImages / ds.size,
      message: `${doneImages} of ${ds.size} images${this.active.size ? ` (${this.active.size + 1} processes)` : ''}`,
      count: { done: doneImages, total: ds.size, unit: 'images' },
    });
  }

  /** Merges the finished chunks that continue the prefix, reports, and lets the wrapper checkpoint. */
  private async advance(): Promise<void> {
    const { cursor, state } = this.plan;
    for (let st = this.done.get(cursor.next); st; st = this.done.get(cursor.next)) {
      this.done.delete(cursor.next);
      mergeScanStates(state, st);
      cursor.next += st.images;
    }
    this.report();
    await this.plan.onAdvance();
  }

  private takeChunk(): [number, number] | undefined {
    this.queue.sort((a, b) => a[0] - b[0]);
    return this.queue.shift();
  }

  /**
   * A helper's loop: chunks until none are left, `HELPER_DEPTH` requests at a time (`lane`s); a failed chunk
   * goes back to the queue and the helper stops.
   */
  private async helperLoop(h: ScanHelper): Promise<void> {
    // A helper still starting when the scan ends stays in the pool, warm for the next one.
    const started = await Promise.race([
      h.ready.then(
        () => true,
        () => false,
      ),
      this.scanOver.then(() => false),
    ]);
    if (!started) {
      this.active.delete(h);
      return;
    }
    await Promise.all(Array.from({ length: HELPER_DEPTH }, () => this.lane(h)));
    this.active.delete(h);
  }

  private async lane(h: ScanHelper): Promise<void> {
    const { ds, k, batchSize, weightsHash, state, job, parallel } = this.plan;
    for (let c = this.takeChunk(); c; c = this.takeChunk()) {
      if (job.cancelled || this.ended || !h.alive) {
        this.queue.push(c);
        return;
      }
      const [s, e] = c;
      this.running.set(s, 0);
      try {
        const part = await h.scan(
          { lens: parallel!.lensPath, weightsHash, datasetHash: ds.hash, k, start: s, end: e, batchSize, floors: scanFloors(state) },
          (n) => this.running.set(s, n),
        );
        if (part.images !== e - s) throw new Error(`A scan helper returned ${part.images} images for a chunk of ${e - s}.`);
        this.done.set(s, part);
        this.helperImages += part.images;
      } catch (err) {
        this.queue.push(c);
        if (!(err instanceof CancelledError)) h.kill(); // its other lane's request then fails too
        return;
      } finally {
        this.running.delete(s);
      }
      try {
        await this.advance();
      } catch (err) {
        // A checkpoint that could not be written (disk full...): the scan fails with it, from its main loop.
        this.laneFailure ??= err;
        return;
      }
    }
  }

  /** After this process's second batch: start the missing helpers if the rest would take long enough. */
  private maybeStartHelpers(batchImages: number): void {
    this.localImages += batchImages;
    if (this.coldChecked || this.helpers.length >= this.helperCount || this.localImages < 2 * this.plan.batchSize) return;
    this.coldChecked = true;
    const par = this.plan.parallel!;
    const rate = this.localImages / Math.max(1e-3, (Date.now() - this.localStart) / 1000);
    const left = this.queue.reduce((a, [s, e]) => a + e - s, 0);
    if (left / rate < (par.coldStartSeconds ?? coldStartSeconds(COLD_START_SECONDS))) return;
    for (const h of acquireHelpers(par.enginePath, this.helperCount - this.helpers.length)) {
      this.helpers.push(h);
      this.active.add(h);
      this.loops.push(this.helperLoop(h));
    }
  }

  /** This process's part: takes chunks until the prefix covers the dataset, waiting for helpers' chunks. */
  async scanHere(): Promise<void> {
    const { ds, job } = this.plan;
    while (this.next < ds.size) {
      job.throwIfCancelled();
      if (this.laneFailure) throw this.laneFailure;
      const c = this.takeChunk();
      if (!c) {
        // Everything is taken: wait for the helpers' chunks (a failed one comes back to the queue).
        await whileNotCancelled(Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 100))]), job, () => this.report());
        await this.advance();
        continue;
      }
      await this.scanChunk(c[0], c[1]);
      await this.advance();
    }
  }

  /** Scans one chunk here: into `state` when it continues the prefix, else into a state of its own. */
  private async scanChunk(s: number, e: number): Promise<void> {
    const { model, ds, k, layers, batchSize, state, cursor } = this.plan;
    if (s === cursor.next) {
      const onBatch = async (pos: number) => {
        this.maybeStartHelpers(pos - cursor.next);
        cursor.next = pos;
        await this.advance();
      };
      await scanRange(model, ds, s, e, state, this.quiet, { batchSize, onBatch });
      return;
    }
    this.running.set(s, 0);
    try {
      const onBatch = (pos: number) => {
        this.maybeStartHelpers(pos - s - (this.running.get(s) ?? 0));
        this.running.set(s, pos - s);
      };
      this.done.set(s, await scanRange(model, ds, s, e, emptyScanState(layers, k, ds.classes.length, scanFloors(state)), this.quiet, { batchSize, onBatch }));
    } finally {
      this.running.delete(s);
    }
  }

  /** Ends the scan: cancels helpers when it did not finish (stopping those that do not answer), releases them. */
  async stop(finished: boolean): Promise<void> {
    this.ended = true;
    this.over();
    if (!finished) {
      for (const h of this.active) h.cancel();
      // A helper that does not answer its cancel within a few seconds is stopped (its requests then fail).
      const stuck = setTimeout(() => this.active.forEach((h) => h.kill()), HELPER_CANCEL_MS);
      await Promise.allSettled(this.loops);
      clearTimeout(stuck);
    }
    // Loops started while waiting are in `loops` too (the array only grows).
    for (let n = 0; n < this.loops.length; n = this.loops.length) await Promise.allSettled(this.loops.slice(n));
    releaseHelpers(this.helpers);
  }

  throwLaneFailure(): void {
    if (this.laneFailure) throw this.laneFailure;
  }
}

/** Awaits `p`, checking for cancellation (and reporting progress) every 200 ms. */
async function whileNotCancelled<T>(p: Promise<T>, job: Job, tick: () => void): Promise<T> {
  let settled = false;
  const done = p.finally(() => (settled = true));
  while (!settled) {
    await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, 200))]);
    job.throwIfCancelled();
    tick();
  }
  return done;
}
