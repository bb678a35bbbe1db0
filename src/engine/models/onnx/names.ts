/**
 * Readable op names from ONNX node names. PyTorch (1.13+) names a node by the module scopes it ran in and
 * its op type: `/layer2/layer2.0/downsample/downsample.0/Conv`. A scope segment is either the attribute
 * name in the parent (`conv1`, `relu_1` for a module's second call) or the parent's segment with an index
 * (`layer2.0`, `downsample.0`); joined, they give the module path `layer2.0.downsample.0`.
 *
 * - An op of a leaf module is named by its module path (`layer2.0.conv1`, `layer2.0.relu_1`).
 * - An op written in a container's `forward` (the `+` of a residual block) is named by the container and its
 *   op type: `layer2.0.Add`; at the top level by its op type alone: `Flatten`.
 * - When a module yields several ops, its last op (the module's output) keeps the module path and earlier
 *   ones add their op type (`fc.MatMul`); helper ops the importer adds add their role (`x.nchw`).
 * - Other exporters' names (`Conv_0`) are kept as they are. Any remaining clash gets `_2`, `_3`...
 */
import type { Origin } from './context';

/** The module path and op segment of a PyTorch-style node name, or undefined for other names. */
export function parseNodeName(node: string): { scope: string; op: string } | undefined {
  if (!node.startsWith('/')) return undefined;
  const segs = node.split('/').filter(Boolean);
  const op = segs.pop();
  if (!op) return undefined;
  const parts: string[] = [];
  let prev = '';
  for (const s of segs) {
    if (prev && s.startsWith(`${prev}.`)) parts.push(s.slice(prev.length + 1));
    else parts.push(s);
    prev = s;
  }
  return { scope: parts.join('.'), op };
}

export function moduleNames(origins: Origin[], taken: Set<string>): string[] {
  const parsed = origins.map((o) => parseNodeName(o.node));
  const scopes = new Set(parsed.map((p) => p?.scope).filter((s): s is string => !!s));
  const isContainer = (scope: string) => [...scopes].some((s) => s.startsWith(`${scope}.`));
  const bases = origins.map((o, i) => {
    const p = parsed[i];
    if (!p) return o.node;
    if (!p.scope) return p.op;
    return isContainer(p.scope) ? `${p.scope}.${p.op}` : p.scope;
  });
  // Several main ops in one module: the last keeps the module's name.
  const lastOf = new Map<string, number>();
  bases.forEach((b, i) => !origins[i].role && lastOf.set(b, i));
  const names = origins.map((o, i) => {
    if (o.role) return `${bases[i]}.${o.role}`;
    if (lastOf.get(bases[i]) === i || !parsed[i]) return bases[i];
    return `${bases[i]}.${parsed[i]?.op}`;
  });
  const used = new Set(taken);
  return names.map((name) => {
    let n = name;
    for (let k = 2; used.has(n); k++) n = `${name}_${k}`;
    used.add(n);
    return n;
  });
}
