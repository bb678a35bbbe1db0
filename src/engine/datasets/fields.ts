import { UserError } from '../runtime/errors';

/**
 * Reads the fields of one JSON object of a lens file, with one clear message per mistake that names the
 * file and the field's path (`dataset.train.images`). Call `done()` last: it refuses fields nobody read,
 * so a typo is reported instead of silently ignored.
 */
export class Fields {
  private readonly seen = new Set<string>();
  private readonly obj: Record<string, unknown>;

  constructor(
    value: unknown,
    private readonly where: string,
    readonly file: string,
  ) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      if (!where) throw new UserError('badInput', `must hold a JSON object, not ${describe(value)}.`, file);
      this.fail(where, `must be a JSON object, not ${describe(value)}`);
    }
    this.obj = value as Record<string, unknown>;
  }

  path(key: string): string {
    return this.where ? `${this.where}.${key}` : key;
  }

  fail(field: string, problem: string): never {
    throw new UserError('badInput', `"${field}" ${problem}.`, this.file);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  raw(key: string): unknown {
    this.seen.add(key);
    return this.obj[key];
  }

  private get(key: string, required: boolean): unknown {
    const v = this.raw(key);
    if (v === undefined && required) this.fail(this.path(key), 'is missing');
    return v;
  }

  str(key: string): string;
  str(key: string, required: false): string | undefined;
  str(key: string, required = true): string | undefined {
    const v = this.get(key, required);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') this.fail(this.path(key), `must be a non-empty string, not ${describe(v)}`);
    return v;
  }

  num(key: string, opts: { int?: boolean; min?: number; max?: number; def?: number } = {}): number {
    const v = this.get(key, opts.def === undefined);
    if (v === undefined) return opts.def!;
    const okType = typeof v === 'number' && Number.isFinite(v) && (!opts.int || Number.isInteger(v));
    const okRange = okType && (opts.min === undefined || v >= opts.min) && (opts.max === undefined || v <= opts.max);
    if (typeof v === 'number' && !Number.isFinite(v)) {
      // JSON.parse reads 1e999 as Infinity (and JSON.stringify would show it as null).
      this.fail(
        this.path(key),
        `must be a finite number, not ${v > 0 ? 'a number too large for a double (e.g. 1e999)' : v < 0 ? 'a number too large and negative' : 'NaN'}`,
      );
    }
    if (!okRange) {
      const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' and ');
      this.fail(this.path(key), `must be ${opts.int ? 'a whole number' : 'a number'}${range ? ` ${range}` : ''}, not ${describe(v)}`);
    }
    return v as number;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.get(key, false);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(this.path(key), `must be true or false, not ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], def?: T): T {
    const v = this.get(key, def === undefined);
    if (v === undefined) return def!;
    if (!values.includes(v as T)) this.fail(this.path(key), `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, not ${describe(v)}`);
    return v as T;
  }

  strings(key: string, required = false): string[] | undefined {
    const v = this.get(key, required);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s !== ''))
      this.fail(this.path(key), `must be a list of non-empty strings, not ${describe(v)}`);
    if (new Set(v).size !== v.length) this.fail(this.path(key), 'lists a name twice');
    return v as string[];
  }

  /** A `[height, width]` pair (a single number means a square). */
  size(key: string, def?: [number, number]): [number, number] {
    const v = this.get(key, def === undefined);
    if (v === undefined) return def!;
    const pair = typeof v === 'number' ? [v, v] : v;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((d) => Number.isInteger(d) && d >= 1 && d <= 4096)) {
      this.fail(this.path(key), `must be [height, width] in pixels (whole numbers 1–4096), not ${describe(v)}`);
    }
    return [pair[0], pair[1]];
  }

  /** Fields of a nested value at `where` (e.g. an element of a list). */
  child(value: unknown, where: string): Fields {
    return new Fields(value, where, this.file);
  }

  sub(key: string, required = true): Fields | undefined {
    const v = this.get(key, required);
    return v === undefined ? undefined : new Fields(v, this.path(key), this.file);
  }

  done(): void {
    for (const k of Object.keys(this.obj)) {
      if (!this.seen.has(k)) {
        const known = [...this.seen].join(', ');
        this.fail(this.path(k), `is not a field Feature Lens knows here${known ? ` (expected: ${known})` : ''}`);
      }
    }
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
