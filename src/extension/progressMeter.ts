/**
 * The text of a long job's progress notification: what the engine reports, with throughput and the time left
 * estimated from its `count` reports. No vscode import (tested in plain Node).
 */
import type { Progress } from '../shared/protocol';

/** Throughput and time left are shown once the job ran this long (earlier figures swing too much). */
const MIN_SECONDS = 1.5;

export class ProgressMeter {
  private first: { t: number; done: number; total: number } | undefined;
  private lastDone = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The message for one progress report (undefined when it has nothing to say). */
  message(p: Progress): string | undefined {
    const base = p.train ? trainText(p.train) : (p.message ?? (p.objective !== undefined ? `objective ${p.objective.toPrecision(4)}` : undefined));
    const speed = p.count ? this.speed(p.count) : undefined;
    if (base && speed) return `${base} · ${speed}`;
    return base ?? speed;
  }

  private speed(c: NonNullable<Progress['count']>): string | undefined {
    const t = this.now();
    // A new run (a training restarting from the next seed starts its count again) measures afresh.
    if (!this.first || c.done < this.lastDone || c.total !== this.first.total) this.first = { t, done: c.done, total: c.total };
    this.lastDone = c.done;
    const seconds = (t - this.first.t) / 1000;
    const done = c.done - this.first.done;
    if (seconds < MIN_SECONDS || done <= 0) return undefined;
    const rate = done / seconds;
    const left = Math.max(0, c.total - c.done) / rate;
    return `${formatRate(rate)} ${c.unit}/s, ${c.done >= c.total ? 'finishing' : `about ${formatDuration(left)} left`}`;
  }
}

function trainText(t: NonNullable<Progress['train']>): string {
  const attempt =
    t.attempt !== undefined && t.attempts !== undefined && t.attempts > 1
      ? `attempt ${t.attempt} of at most ${t.attempts} (${t.attempt > 1 ? 'earlier seeds fell short of the recipe\'s minimum training accuracy, "training.restarts"' : 'restarts with the next seed if the training accuracy falls short, "training.restarts"'}), `
      : '';
  return `${attempt}epoch ${t.epoch}/${t.epochs}, batch ${t.batch}/${t.batches}, loss ${t.loss.toFixed(4)}, accuracy ${(100 * t.accuracy).toFixed(1)}%`;
}

export function formatRate(r: number): string {
  return r >= 100 ? Math.round(r).toLocaleString('en-US') : r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

/** `s` seconds as "45 s", "3 min 20 s", "1 h 05 min". */
export function formatDuration(s: number): string {
  const r = Math.round(s);
  if (r < 60) return `${Math.max(1, r)} s`;
  if (r < 3600) return `${Math.floor(r / 60)} min${r % 60 ? ` ${r % 60} s` : ''}`;
  return `${Math.floor(r / 3600)} h ${String(Math.floor((r % 3600) / 60)).padStart(2, '0')} min`;
}
