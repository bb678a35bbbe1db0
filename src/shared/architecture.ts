/**
 * Whether two models have the same architecture, for the comparison page's side-by-side node pages (issue 14):
 * the same layers in the same order, each with the same name, kind, output shape and number of weights, so
 * "the same node of the same layer" means one thing in both.
 */

/** What a layer of a model summary says about its shape (a `ModelSummary` layer fits). */
export interface LayerShape {
  name: string;
  className: string;
  outputShape: number[];
  nodes: number;
  params: number;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** One line saying how the two layer lists differ (the first difference), or undefined when they are the same architecture. */
export function architectureDifference(a: readonly LayerShape[], b: readonly LayerShape[]): string | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x.name !== y.name) return `layer ${i} is ${x.name} in A and ${y.name} in B`;
    if (x.className !== y.className) return `layer ${x.name} is a ${x.className} in A and a ${y.className} in B`;
    if (x.outputShape.length !== y.outputShape.length || x.outputShape.some((d, k) => d !== y.outputShape[k]))
      return `layer ${x.name} outputs ${shapeText(x.outputShape)} in A and ${shapeText(y.outputShape)} in B`;
    if (x.nodes !== y.nodes) return `layer ${x.name} has ${x.nodes} nodes in A and ${y.nodes} in B`;
    if (x.params !== y.params) return `layer ${x.name} has ${x.params} weights in A and ${y.params} in B`;
  }
  if (a.length !== b.length) return `A has ${a.length} layers and B ${b.length}`;
  return undefined;
}

/**
 * The layer of B that goes with layer `layerA` of A when A's layer picker changes: the same index when the
 * two layers on screen are the same layer of one architecture (same index and name), else B's layer as it was.
 */
export function followLayer(layerA: number, shown: { layerA: { index: number; name: string }; layerB: { index: number; name: string } }): number {
  const same = shown.layerA.index === shown.layerB.index && shown.layerA.name === shown.layerB.name;
  return same ? layerA : shown.layerB.index;
}
