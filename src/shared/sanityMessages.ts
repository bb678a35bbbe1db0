/**
 * The node page's "Randomize weights" row (the sanity check): the view option on the page, and the row's
 * progress and result sent after it. Types only (re-exported by `webviewProtocol.ts`); the webview's
 * `randomize` request is in `webviewMessages.ts`.
 */
import type { ProjectionMethod } from './protocol';
import type { Pixels } from './webviewProtocol';

/** Node page: whether the top images' projections are also drawn with randomized weights, and how deep. */
export interface RandomizeView {
  on: boolean;
  /** Layers randomized from the top of the cascade (absent: all of them down to the input). */
  depth?: number;
}
/** Progress of the node page's "Randomize weights" row. */
export interface SanityProgressMessage {
  type: 'sanityProgress';
  layer: number;
  node: number;
  fraction: number;
  message?: string;
}
/**
 * The node page's second row: the top images' projections with the top `depth` layers of `cascade` randomized
 * (engine `sanity` with `maps`), with the similarity of each to the trained one; or why there is none.
 */
export interface SanityRowMessage {
  type: 'sanityRow';
  layer: number;
  node: number;
  method: ProjectionMethod;
  /** Dataset indices of the images, in the top row's order. */
  images: number[];
  depth: number;
  /** Every layer the cascade can randomize, top down. */
  cascade: string[];
  projections: Pixels[];
  spearmanAbs: (number | null)[];
  ssim: (number | null)[];
  /** The check could not run (then nothing else but the node is set), or `cancelled`. */
  error?: string;
  cancelled?: boolean;
}
