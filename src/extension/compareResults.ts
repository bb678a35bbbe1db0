/**
 * The comparison page's results, kept on the host per pair of models (their lens files and weights): the cross
 * test, computed once, and node matching per pair of layers. Another pair of layers re-runs node matching only
 * (`matchNodes`), never the cross test; retrained weights make a new pair. No vscode import (plain Node tests).
 */
import type { CompareResult, LensInfo, MethodName, ModelInfo, NodeMatching, ParamsOf, Progress, ReplyOf } from '../shared/protocol';
import type { PanelState } from '../shared/webviewProtocol';
import { EngineRequestError, type CancelToken, type RequestOptions } from './engineClient';

/** An engine request (the panel's client, or a page context's `call`). */
export type EngineCall = <M extends MethodName>(
  method: M,
  params: ParamsOf<M>,
  opts?: { onProgress?: (p: Progress) => void; token?: CancelToken },
) => Promise<ReplyOf<M>>;

/** Two models as the comparison reads them: A's lens file and weights, B's lens file, model and weights. */
export interface ModelPair {
  lensA: string;
  hashA: string;
  lensB: LensInfo;
  infoB: ModelInfo;
  /** Both lens files as read (what they name: datasets, preprocessing), so an edited lens file compares again. */
  lenses: string;
}

/** What a lens file names, without its training results (retraining changes the weights hash anyway). */
const lensKey = ({ lastTraining: _t, trainingNote: _n, ...rest }: LensInfo) => rest;

/** B's lens file and model (as its lens runs it), and A's weights hash: what a comparison is keyed by. */
export async function readPair(call: EngineCall, lensA: LensInfo, modelA: ModelInfo, other: string): Promise<ModelPair> {
  const lensB = await call('lens', { lens: other });
  const infoB = await call('modelInfo', { model: lensB.model, lens: lensB.path });
  return { lensA: lensA.path, hashA: modelA.weightsHash, lensB, infoB, lenses: JSON.stringify([lensKey(lensA), lensKey(lensB)]) };
}

const pairKey = (p: ModelPair) => JSON.stringify([p.lensA, p.hashA, p.lensB.path, p.infoB.weightsHash, p.lenses]);

/** Least recently used first; at most `MAX_*` entries. */
const MAX_PAIRS = 4;
const MAX_MATCHINGS = 16;

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): V {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value!);
  return value;
}

export class CompareResults {
  private readonly pairs = new Map<string, Omit<CompareResult, 'matching'>>();
  private readonly matchings = new Map<string, NodeMatching>();

  /** The whole comparison: the cross test from an earlier request when there was one, node matching from one too. */
  async result(
    call: EngineCall,
    pair: ModelPair,
    layers: { layerA?: number; layerB?: number },
    opts: { onProgress?: (p: Progress) => void; token?: CancelToken } = {},
  ): Promise<CompareResult> {
    const key = pairKey(pair);
    const base = this.pairs.get(key);
    if (!base) {
      const r = await call('compare', { lens: pair.lensA, other: pair.lensB.path, layerA: layers.layerA, layerB: layers.layerB }, opts);
      const { matching, ...rest } = r;
      remember(this.pairs, key, rest, MAX_PAIRS);
      this.keep(pair, matching);
      return r;
    }
    return { ...base, matching: await this.matching(call, pair, layers, opts) };
  }

  /** Node matching of two layers (both given: from memory when computed before; else the engine's defaults). */
  async matching(
    call: EngineCall,
    pair: ModelPair,
    layers: { layerA?: number; layerB?: number },
    opts: { onProgress?: (p: Progress) => void; token?: CancelToken } = {},
  ): Promise<NodeMatching> {
    const known = this.known(pair, layers);
    if (known) return remember(this.matchings, matchKey(pair, known.layerA.index, known.layerB.index), known, MAX_MATCHINGS);
    const m = await call('matchNodes', { lens: pair.lensA, other: pair.lensB.path, layerA: layers.layerA, layerB: layers.layerB }, opts);
    return this.keep(pair, m);
  }

  /** Node matching of both layers when computed before (no request). */
  known(pair: ModelPair, layers: { layerA?: number; layerB?: number }): NodeMatching | undefined {
    return layers.layerA !== undefined && layers.layerB !== undefined ? this.matchings.get(matchKey(pair, layers.layerA, layers.layerB)) : undefined;
  }

  private keep(pair: ModelPair, m: NodeMatching): NodeMatching {
    return remember(this.matchings, matchKey(pair, m.layerA.index, m.layerB.index), m, MAX_MATCHINGS);
  }

  clear(): void {
    this.pairs.clear();
    this.matchings.clear();
  }
}

const matchKey = (p: ModelPair, a: number, b: number) => `${pairKey(p)}:${a}:${b}`;

/** What `rematch` acts on: the panel's state and redraws, the engine, a notification with progress and Cancel. */
export interface RematchHost {
  state(): PanelState;
  call: EngineCall;
  navigate(s: PanelState): void;
  render(): Promise<void>;
  withProgress<T>(title: string, run: (opts: RequestOptions) => Promise<T>): Promise<T>;
}

/**
 * Another pair of layers on the comparison page (`compareLayers`): node matching alone (the cross test is kept),
 * under a notification with progress and Cancel; then the page is drawn with it from the store. Cancelled or
 * failed, the page is drawn again as it was (its pickers back on the layers shown); a failure is thrown on.
 */
export async function rematch(h: RematchHost, store: CompareResults, layer: number | undefined, otherLayer: number | undefined): Promise<void> {
  const s = h.state();
  if (!s.lens || !s.other) return;
  const lens = await h.call('lens', { lens: s.lens });
  const model = await h.call('modelInfo', { model: s.model });
  const pair = await readPair(h.call, lens, model, s.other);
  let matched: NodeMatching;
  try {
    const layers = { layerA: layer, layerB: otherLayer };
    // A pair computed before comes from memory: no notification.
    matched =
      store.known(pair, layers) ??
      (await h.withProgress('Feature Lens: comparing another pair of layers', (opts) => store.matching(h.call, pair, layers, opts)));
  } catch (e) {
    if (h.state() === s) await h.render();
    if (e instanceof EngineRequestError && e.error.code === 'cancelled') return;
    throw e;
  }
  // Unless the panel moved on meanwhile.
  if (h.state() === s) h.navigate({ ...s, layer: matched.layerA.index, otherLayer: matched.layerB.index });
}

/** The one store of the extension host (one inspector panel compares at a time; a model file's editor never does). */
export const compareResults = new CompareResults();
