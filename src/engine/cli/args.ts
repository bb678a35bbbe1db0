// The CLI's arguments: flags and positionals, typed reads of a flag, and the options several commands share.
import * as os from 'node:os';
import * as path from 'node:path';
import type { ScoreMetric } from '../../shared/protocol';
import { UserError } from '../runtime/errors';
import type { NodeIndexOptions } from './figures';

export interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [key, inline] = a.slice(2).split('=', 2);
      if (inline !== undefined) flags[key] = inline;
      else if (['json', 'help', 'gif'].includes(key)) flags[key] = true;
      else if (i + 1 < argv.length) flags[key] = argv[++i];
      else throw new UserError('badInput', `--${key} needs a value.`);
    } else positional.push(a);
  }
  return { positional, flags };
}

export function str(flags: Args['flags'], key: string, fallback?: string): string {
  const v = flags[key];
  if (v === undefined || v === true) {
    if (fallback !== undefined) return fallback;
    throw new UserError('badInput', `--${key} is required.`);
  }
  return v;
}

export function int(flags: Args['flags'], key: string, fallback: number): number {
  const v = flags[key];
  if (v === undefined) return fallback;
  // Number('') and Number(' ') are 0: an empty value (`--node=`) is a mistake, not node 0.
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new UserError('badInput', `--${key} must be a whole number, not "${String(v)}".`);
  return n;
}

/** Where the CLI keeps top-activation indexes unless --storage says otherwise. */
export function defaultStorageDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'feature-lens', 'index');
}

/** The options `top` and `render` share: which node, and where its index is. */
export function nodeArgs(lens: string, flags: Args['flags'], metric: ScoreMetric): NodeIndexOptions {
  return {
    lens,
    layer: str(flags, 'layer'),
    node: int(flags, 'node', 0),
    storageDir: str(flags, 'storage', defaultStorageDir()),
    k: int(flags, 'k', 9),
    metric,
  };
}
