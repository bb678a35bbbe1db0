/**
 * Where training code names a layer of a model: PyTorch module paths (`self.conv1`, `model.layer1[0].conv1`,
 * which the model knows as `conv1` and `layer1.0.conv1`: the names `named_modules()` and ONNX exports keep) and
 * Keras / TF.js layer names in strings (`name: 'conv1'`, `name='conv1'`, `"name": "conv1"`). Plain text in,
 * offsets out; no vscode import (tested in plain Node).
 */

export interface LayerMention {
  /** Offsets of the mention in the text (`end` exclusive): the attribute path, or the string's contents. */
  start: number;
  end: number;
  /** The layer name it matches, as the model has it. */
  name: string;
}

/** Texts longer than this are not searched (generated or minified code). */
export const MAX_TEXT = 1_000_000;
/** At most this many mentions per text. */
export const MAX_MENTIONS = 2000;

/** An attribute chain: `a.b[0].c`. */
const CHAIN = /[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*/g;
/** A layer name in a string: `name: 'x'`, `name='x'`, `"name": "x"`, `name = "x"`. */
const NAME_STRING = /(?:\bname|"name"|'name')\s*[:=]\s*(['"`])([^'"`\n\\]{1,200})\1/g;

/** The segments of a chain, each with its offsets: `layer1[0].conv1` → layer1, 0, conv1. */
function segments(chain: string, base: number): { text: string; start: number; end: number }[] {
  const out: { text: string; start: number; end: number }[] = [];
  for (const m of chain.matchAll(/[A-Za-z_$][\w$]*|\[(\d+)\]/g)) {
    const start = base + m.index!;
    out.push({ text: m[1] ?? m[0], start, end: start + m[0].length });
  }
  return out;
}

/**
 * Every mention of one of `names` in `text`. An attribute chain matches by its longest suffix that is a layer
 * name, when that suffix is an attribute (something before it: `self.conv1`) or a path itself (`layer1.0.conv1`);
 * a bare identifier is not a mention (a local variable named like a layer is not one).
 */
export function findLayerMentions(text: string, names: ReadonlySet<string>): LayerMention[] {
  if (names.size === 0 || text.length > MAX_TEXT) return [];
  const out: LayerMention[] = [];
  const taken = new Set<number>();
  for (const m of text.matchAll(NAME_STRING)) {
    const name = m[2];
    if (!names.has(name)) continue;
    const start = m.index! + m[0].length - 1 - name.length;
    out.push({ start, end: start + name.length, name });
    taken.add(start);
    if (out.length >= MAX_MENTIONS) return out;
  }
  for (const m of text.matchAll(CHAIN)) {
    // Not in the middle of a longer word or number (the regex starts at the first identifier character).
    if (m.index! > 0 && /[\w$.]/.test(text[m.index! - 1])) continue;
    if (!m[0].includes('.') && !m[0].includes('[')) continue;
    const segs = segments(m[0], m.index!);
    for (let k = 0; k < segs.length; k++) {
      if (k === 0 && segs.length < 2) break;
      const name = segs
        .slice(k)
        .map((s) => s.text)
        .join('.');
      if (names.has(name) && (k >= 1 || segs.length - k >= 2)) {
        if (!taken.has(segs[k].start)) out.push({ start: segs[k].start, end: segs[segs.length - 1].end, name });
        break;
      }
    }
    if (out.length >= MAX_MENTIONS) break;
  }
  return out.sort((a, b) => a.start - b.start);
}

/** The mention at an offset, if any. */
export function mentionAt(mentions: readonly LayerMention[], offset: number): LayerMention | undefined {
  return mentions.find((m) => m.start <= offset && offset <= m.end);
}
