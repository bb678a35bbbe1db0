/**
 * Detection graph models (TensorFlow Object Detection API exports, CenterNet) end in post-processing: TopKV2 and
 * NonMaxSuppression pick the best boxes, and gather, slice and reshape them into lists of detections. That part is
 * no network layer (it has no nodes to inspect, and no gradient), so the importer stops the network before it:
 * its outputs become the values the post-processing reads (the class scores, box encodings, heat maps), and the
 * model's info says what was left out.
 */

/** Ops that select among values by their rank: where a graph's post-processing begins. */
export const POSTPROCESSING_OPS: ReadonlySet<string> = new Set([
  'TopKV2',
  'NonMaxSuppressionV2',
  'NonMaxSuppressionV3',
  'NonMaxSuppressionV4',
  'NonMaxSuppressionV5',
  'CombinedNonMaxSuppression',
]);

interface Node {
  name: string;
  op: string;
  input?: string[];
}

const nameOf = (ref: string): string => ref.replace(/^\^/, '').split(':')[0];

/**
 * Where to stop a graph whose outputs `sinks` depend on post-processing: undefined when none do. Else the new
 * outputs (the old ones that do not depend on it, then every value the post-processing reads that is computed
 * from the input, in graph order), the post-processing nodes found, and how many nodes are left out.
 */
export function cutBeforePostprocessing(nodes: Node[], sinks: string[]): { sinks: string[]; found: Node[]; leftOut: number } | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  // The nodes the outputs depend on.
  const needed = new Set<string>();
  const stack = [...sinks];
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n) || !byName.has(n)) continue;
    needed.add(n);
    for (const r of byName.get(n)!.input ?? []) stack.push(nameOf(r));
  }
  const found = nodes.filter((n) => needed.has(n.name) && POSTPROCESSING_OPS.has(n.op));
  if (!found.length) return undefined;
  // The post-processing: those nodes and everything computed from them.
  const readers = new Map<string, string[]>();
  for (const n of nodes) for (const r of n.input ?? []) readers.set(nameOf(r), [...(readers.get(nameOf(r)) ?? []), n.name]);
  const post = new Set<string>();
  const todo = found.map((n) => n.name);
  while (todo.length) {
    const n = todo.pop()!;
    if (post.has(n)) continue;
    post.add(n);
    todo.push(...(readers.get(n) ?? []));
  }
  // Which nodes depend on the input (a Placeholder): constants and shape arithmetic do not make outputs.
  const live = new Map<string, boolean>();
  const isLive = (name: string): boolean => {
    const known = live.get(name);
    if (known !== undefined) return known;
    live.set(name, false); // a cycle reads as constant here; the importer reports cycles itself
    const n = byName.get(name);
    const v = !!n && (n.op === 'Placeholder' || (n.op !== 'Shape' && (n.input ?? []).some((r) => !r.startsWith('^') && isLive(nameOf(r)))));
    live.set(name, v);
    return v;
  };
  const frontier = new Set<string>();
  for (const n of nodes) {
    if (!post.has(n.name) || !needed.has(n.name)) continue;
    for (const r of n.input ?? []) {
      const k = nameOf(r);
      if (!r.startsWith('^') && !post.has(k) && isLive(k)) frontier.add(k);
    }
  }
  const kept = sinks.filter((s) => !post.has(s));
  const order = new Map(nodes.map((n, i) => [n.name, i]));
  const rest = [...frontier].filter((s) => !kept.includes(s)).sort((a, b) => order.get(a)! - order.get(b)!);
  return { sinks: [...kept, ...rest], found, leftOut: [...post].filter((n) => needed.has(n)).length };
}
