/**
 * Layer activation by class (the seed's Figures 28–29), dead nodes and class-selective nodes, from one pass
 * over the test split. It is the same pass as the top-activation scan (scan.ts accumulates both), so with a
 * storage folder the numbers come from the stored index (scanning first if there is none, unless `indexOnly`
 * asks for the stored index alone), and without one a scan runs in memory.
 *
 *   norms[c][l]          = mean over images j of class c of ||a_l(x_j)||_F (the whole layer's activation)
 *   deadFraction[l][i]   = share of images on which node i's map is all zero
 *   selectivity[l][i]    = max_c S_c / Σ_c S_c with S_c = Σ_{j in c} z(l, i, j) (Frobenius node score);
 *                          topClass[l][i] = argmax_c S_c. A node whose score is zero on every image has
 *                          selectivity 0 and topClass -1.
 */
import type { LayerByClassResult } from '../../shared/protocol';
import type { Dataset } from '../datasets/dataset';
import type { Job } from '../runtime/job';
import { openDataset, readLens } from '../lens/lens';
import type { Network } from '../models/network';
import { loadLensModel } from '../lens/lensModel';
import { emptyScanState, scanLayers, scanRange, type ScanState } from './scan';
import { findIndex } from './indexStore';
import { scanDataset, scanLens } from './topActivations';

/** The table from a scan's accumulated sums. */
export function layerByClassFromState(state: ScanState, classes: string[], layerNames: string[]): LayerByClassResult {
  const C = state.classes;
  const norms = Array.from({ length: C }, (_, c) =>
    state.layers.map((_, l) => (state.classCounts[c] > 0 ? state.layerNormSums[l * C + c] / state.classCounts[c] : 0)),
  );
  const deadFraction: number[][] = [];
  const selectivity: number[][] = [];
  const topClass: number[][] = [];
  for (const layer of state.layers) {
    const dead: number[] = [];
    const sel: number[] = [];
    const top: number[] = [];
    for (let i = 0; i < layer.nodes; i++) {
      const node = layer.offset + i;
      dead.push(state.images > 0 ? state.deadCounts[node] / state.images : 0);
      let sum = 0;
      let best = -1;
      let bestSum = 0;
      for (let c = 0; c < C; c++) {
        const s = state.classSums[node * C + c];
        sum += s;
        if (s > bestSum) {
          bestSum = s;
          best = c;
        }
      }
      sel.push(sum > 0 ? bestSum / sum : 0);
      top.push(best);
    }
    deadFraction.push(dead);
    selectivity.push(sel);
    topClass.push(top);
  }
  return { classes: [...classes], layers: state.layers.map((l) => l.index), layerNames, norms, deadFraction, selectivity, topClass };
}

export interface LayerByClassOptions {
  /** Where top-activation indexes live; when given, the stored index is used (and written if missing). */
  storageDir?: string;
  weightsHash?: string;
  batchSize?: number;
  /** k for an index this writes (default 9). */
  k?: number;
}

/** The table for `model` over `ds` (see the file comment). */
export async function layerByClassOfDataset(model: Network, ds: Dataset, job: Job, opts: LayerByClassOptions = {}): Promise<LayerByClassResult> {
  let state: ScanState;
  if (opts.storageDir && opts.weightsHash) {
    const stored =
      (await findIndex(opts.storageDir, opts.weightsHash, ds)) ??
      (await scanDataset(model, opts.weightsHash, ds, opts.storageDir, opts.k ?? 9, job, { batchSize: opts.batchSize })).stored;
    state = stored.state;
  } else {
    state = await scanRange(model, ds, 0, ds.size, emptyScanState(scanLayers(model), 1, ds.classes.length), job, { batchSize: opts.batchSize });
  }
  return layerByClassFromState(
    state,
    ds.classes,
    state.layers.map((l) => model.layers[l.index].name),
  );
}

export interface LayerByClassLensOptions {
  /** Only read an existing index: null when there is none (or no storage folder), never scanning. */
  indexOnly?: boolean;
}

/** The table for a lens; null only with `indexOnly` when no index is stored for the model and dataset. */
export async function layerByClass(lensPath: string, job: Job, storageDir?: string, opts: LayerByClassLensOptions = {}): Promise<LayerByClassResult | null> {
  const lens = await readLens(lensPath);
  const { network: model, info } = await loadLensModel(lens);
  const ds = await openDataset(lens, 'test');
  if (opts.indexOnly) {
    const stored = storageDir ? await findIndex(storageDir, info.weightsHash, ds) : undefined;
    return stored
      ? layerByClassFromState(
          stored.state,
          ds.classes,
          stored.state.layers.map((l) => model.layers[l.index].name),
        )
      : null;
  }
  // With a storage folder, a missing index is made by the lens scan (which may use helper processes).
  if (storageDir && !(await findIndex(storageDir, info.weightsHash, ds))) await scanLens(lens.path, storageDir, 'frobenius', 9, job);
  return layerByClassOfDataset(model, ds, job, { storageDir, weightsHash: info.weightsHash });
}
