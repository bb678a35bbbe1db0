/**
 * The engine's memory budget: what a model, a recipe or a data file may cost before any of it is allocated.
 * A few bytes of JSON can declare gigabytes of weights or activations; each is checked against this budget
 * first, with one message saying what it would need. Set by `featureLens.engine.maxMemoryMB` (the host passes
 * it in FEATURE_LENS_MAX_MEMORY_MB) or the CLI's `--max-memory`; by default half the machine's memory, and at
 * most 4 GB on the WebAssembly and JavaScript backends (wasm32 memory cannot grow past 4 GB).
 */
import * as os from 'node:os';
import { ENGINE_ENV } from '../../shared/protocol';
import { currentBackend } from './backend';
import { UserError } from './errors';

let override: number | undefined;

/** Sets the budget in MB (the CLI's flag); undefined goes back to the environment or the default. */
export function setMemoryBudgetMB(mbValue: number | undefined): void {
  override = mbValue;
}

/** The default budget in MB on this machine and backend. */
export function defaultMemoryBudgetMB(): number {
  const half = Math.floor(os.totalmem() / 2 ** 21);
  return currentBackend() === 'tensorflow' ? half : Math.min(half, 4096);
}

/** The budget in bytes. */
export function memoryBudget(): number {
  const env = Number(process.env[ENGINE_ENV.maxMemoryMB]);
  const value = override ?? (Number.isFinite(env) && env > 0 ? env : defaultMemoryBudgetMB());
  return value * 2 ** 20;
}

/** Bytes as a short phrase: "3.1 GB", "12 MB". */
export function bytesText(n: number): string {
  if (!Number.isFinite(n)) return 'an unbounded amount';
  if (n >= 2 ** 40) return `${(n / 2 ** 40).toFixed(1)} TB`;
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MB`;
  return `${Math.ceil(n / 1024)} KB`;
}

/**
 * Throws a UserError naming `file` when `bytes` exceed the budget. `what` says what needs them, e.g.
 * "its 2,000,000-unit dense layer and 1.6 billion parameters".
 */
export function checkMemory(bytes: number, what: string, file: string): void {
  const budget = memoryBudget();
  if (!(bytes <= budget)) {
    throw new UserError(
      'badInput',
      `${what} would need ${bytesText(bytes)} of memory, more than the engine's budget of ${bytesText(budget)} (setting featureLens.engine.maxMemoryMB).`,
      file,
    );
  }
}
