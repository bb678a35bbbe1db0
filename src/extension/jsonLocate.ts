/**
 * Where things are in a lens file's text: the range of a field the engine names in an error
 * (`training.architecture[2].filters`), the elements of `training.architecture`, the position of a JSON syntax
 * error. Plain text in, offsets out; no vscode import (tested in plain Node).
 */

/** A JSON value with its offsets in the text (`end` exclusive). */
export type JsonNode =
  | { type: 'object'; start: number; end: number; members: { key: string; keyStart: number; keyEnd: number; value: JsonNode }[] }
  | { type: 'array'; start: number; end: number; items: JsonNode[] }
  | { type: 'string'; start: number; end: number; value: string }
  | { type: 'number' | 'literal'; start: number; end: number; value: unknown };

/** Parses JSON keeping offsets; undefined when the text is not valid JSON. */
export function parseJsonWithOffsets(text: string): JsonNode | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const fail = (): never => {
    throw new SyntaxError(`at ${i}`);
  };
  const str = (): { value: string; start: number; end: number } => {
    const start = i;
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return { value: JSON.parse(text.slice(start, i)) as string, start, end: i };
  };
  const value = (): JsonNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const members: { key: string; keyStart: number; keyEnd: number; value: JsonNode }[] = [];
      ws();
      if (text[i] === '}') return { type: 'object', start, end: ++i, members };
      for (;;) {
        ws();
        const k = str();
        ws();
        if (text[i++] !== ':') fail();
        members.push({ key: k.value, keyStart: k.start, keyEnd: k.end, value: value() });
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return { type: 'object', start, end: ++i, members };
        else fail();
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') return { type: 'array', start, end: ++i, items };
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return { type: 'array', start, end: ++i, items };
        else fail();
      }
    }
    if (c === '"') {
      const s = str();
      return { type: 'string', start: s.start, end: s.end, value: s.value };
    }
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) fail();
    i += m![0].length;
    return { type: /^[tfn]/.test(m![0]) ? 'literal' : 'number', start, end: i, value: JSON.parse(m![0]) };
  };
  try {
    const root = value();
    ws();
    return i === text.length ? root : undefined;
  } catch {
    return undefined;
  }
}

/** `training.architecture[2].filters` → `['training', 'architecture', 2, 'filters']`. */
export function parseFieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

/**
 * The range to mark for a field: the key and its value when the field is there, else the deepest part of the
 * path that is (a missing field is reported on the object that should hold it). Offsets, `end` exclusive.
 */
export function findFieldRange(text: string, field: string | (string | number)[]): { start: number; end: number } | undefined {
  const root = parseJsonWithOffsets(text);
  if (!root) return undefined;
  const segs = typeof field === 'string' ? parseFieldPath(field) : field;
  let node: JsonNode = root;
  let range = { start: root.start, end: root.start + 1 };
  for (const seg of segs) {
    if (node.type === 'object' && typeof seg === 'string') {
      const m = node.members.find((x) => x.key === seg);
      if (!m) break;
      range = { start: m.keyStart, end: m.value.end };
      node = m.value;
    } else if (node.type === 'array' && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      range = { start: node.start, end: node.end };
    } else break;
  }
  return range;
}

/** The field path a lens error names: the engine quotes it, `file: "dataset.train.images" is missing.` */
export function fieldOfMessage(message: string): string | undefined {
  const m = /"((?:[A-Za-z_$][\w$]*|\[\d+\])(?:\.[A-Za-z_$][\w$]*|\[\d+\])*)"/.exec(message);
  return m ? m[1] : undefined;
}

/** The offset of a JSON syntax error in a message (`... in JSON at position 123`, or `(line 4 column 7)`). */
export function syntaxErrorOffset(message: string, text: string): number | undefined {
  const pos = /at position (\d+)/.exec(message);
  if (pos) return Math.min(Number(pos[1]), text.length);
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) {
    const lines = text.split('\n');
    const line = Math.min(Number(lc[1]), lines.length) - 1;
    let off = 0;
    for (let k = 0; k < line; k++) off += lines[k].length + 1;
    return Math.min(off + Number(lc[2]) - 1, text.length);
  }
  return undefined;
}

/** One entry of a lens file's `training.architecture`, with its range and the name it gives the layer. */
export interface ArchitectureEntry {
  index: number;
  start: number;
  end: number;
  name?: string;
  type?: string;
}

/** The elements of `training.architecture` (empty when there is none or the text is not valid JSON). */
export function architectureEntries(text: string): ArchitectureEntry[] {
  const root = parseJsonWithOffsets(text);
  if (root?.type !== 'object') return [];
  const training = root.members.find((m) => m.key === 'training')?.value;
  if (training?.type !== 'object') return [];
  const arch = training.members.find((m) => m.key === 'architecture')?.value;
  if (arch?.type !== 'array') return [];
  return arch.items.map((item, index) => {
    const e: ArchitectureEntry = { index, start: item.start, end: item.end };
    if (item.type === 'object') {
      const name = item.members.find((m) => m.key === 'name')?.value;
      const type = item.members.find((m) => m.key === 'type')?.value;
      if (name?.type === 'string') e.name = name.value;
      if (type?.type === 'string') e.type = type.value;
    }
    return e;
  });
}

/** Line and character (0-based) of an offset. */
export function positionOf(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, character: Math.min(offset, text.length) - lineStart };
}
