/**
 * The Python literal of a NumPy `.npy` header (npy.ts): a dict read the way numpy's header reader reads it
 * (`ast.literal_eval`), never evaluated.
 */

/** A Python tuple in a parsed header (a list parses to an array). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export type PyValue = string | bigint | number | boolean | null | PyTuple | PyValue[] | Map<string, PyValue>;

/**
 * Parses a Python literal dict, the grammar numpy's header reader accepts (`ast.literal_eval`): strings in single
 * or double quotes, integers (a trailing `L` of Python 2 too), floats, True/False/None, tuples, lists and nested
 * dicts, with trailing commas. Keys must be strings and appear once. Anything else is an error.
 */
export function parsePyDict(text: string): Map<string, PyValue> {
  const p = new PyLiteralParser(text);
  const v = p.value();
  p.ws();
  if (p.i < text.length) p.fail('text after the dict');
  if (!(v instanceof Map)) throw new Error('the header is not a dict');
  return v;
}

/** A recursive-descent reader of one Python literal (see `parsePyDict`); `i` is the position in `text`. */
class PyLiteralParser {
  i = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  ws(): void {
    while (this.i < this.text.length && ' \t\r\n'.includes(this.text[this.i])) this.i++;
  }

  fail(what: string): never {
    throw new Error(`${what} at character ${this.i + 1}`);
  }

  value(): PyValue {
    this.ws();
    const c = this.text[this.i];
    if (c === '{' || c === '(' || c === '[') return this.container(c);
    if (c === "'" || c === '"') return this.string(c);
    return this.scalar();
  }

  /** A dict, tuple or list opened by `c`. */
  private container(c: '{' | '(' | '['): PyValue {
    const { text } = this;
    if (++this.depth > 32) this.fail('nested too deeply');
    const close = c === '{' ? '}' : c === '(' ? ')' : ']';
    this.i++;
    const items: PyValue[] = [];
    const dict = new Map<string, PyValue>();
    let commas = 0;
    for (;;) {
      this.ws();
      if (text[this.i] === close) {
        this.i++;
        break;
      }
      if (c === '{') {
        const k = this.value();
        if (typeof k !== 'string') this.fail('a dict key that is not a string');
        if (dict.has(k as string)) this.fail(`the key '${k as string}' twice`);
        this.ws();
        if (text[this.i] !== ':') this.fail("a missing ':'");
        this.i++;
        dict.set(k as string, this.value());
      } else items.push(this.value());
      this.ws();
      if (text[this.i] === ',') {
        this.i++;
        commas++;
      } else if (text[this.i] !== close) this.fail(`an unexpected ${this.i < text.length ? `'${text[this.i]}'` : 'end'}`);
    }
    this.depth--;
    if (c === '{') return dict;
    if (c === '(') {
      // `(x)` is x in parentheses, not a tuple; `(x,)` and `()` are tuples.
      if (items.length === 1 && commas === 0) return items[0];
      return new PyTuple(items);
    }
    return items;
  }

  /** A string in quotes `c`, with the usual escapes. */
  private string(c: string): string {
    const { text } = this;
    const n = text.length;
    this.i++;
    let s = '';
    while (this.i < n && text[this.i] !== c) {
      if (text[this.i] === '\\') {
        const e = text[this.i + 1];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
        if (!(e in map)) this.fail('an unsupported escape in a string');
        s += map[e];
        this.i += 2;
      } else if (text[this.i] === '\n') this.fail('a line break in a string');
      else s += text[this.i++];
    }
    if (this.i >= n) this.fail('an unterminated string');
    this.i++;
    return s;
  }

  /** True, False, None or a number (integers as bigint). */
  private scalar(): PyValue {
    const { text } = this;
    const word = /^(?:True|False|None)\b/.exec(text.slice(this.i, this.i + 6));
    if (word) {
      this.i += word[0].length;
      return word[0] === 'True' ? true : word[0] === 'False' ? false : null;
    }
    const num = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)L?/.exec(text.slice(this.i, this.i + 400));
    if (num && num[0] !== '' && /\d/.test(num[0])) {
      this.i += num[0].length;
      const t = num[0].replace(/L$/, '');
      return /[.eE]/.test(t) ? Number(t) : BigInt(t);
    }
    return this.fail(this.i < text.length ? `an unexpected '${text[this.i]}'` : 'an unexpected end');
  }
}
