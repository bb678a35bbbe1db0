/**
 * The host's pages, one module each, looked up by their kind in `PAGE_KINDS` (src/shared/webviewProtocol.ts):
 * the type below makes a kind without its module, or a module under another kind, a compile error.
 */
import { isPageKind, type PageKind } from '../../shared/webviewProtocol';
import { comparePage } from './compare';
import { compareNodesPage } from './compareNodes';
import { layerPage } from './layer';
import { modelPage } from './model';
import { nodePage } from './node';
import type { HostPage } from './page';

export const HOST_PAGES: { readonly [K in PageKind]: HostPage<K> } = {
  model: modelPage,
  layer: layerPage,
  node: nodePage,
  compare: comparePage,
  compareNodes: compareNodesPage,
};

/** The module of page kind `kind`, or undefined when there is no such kind. */
export function hostPage(kind: string): HostPage<PageKind> | undefined {
  return isPageKind(kind) ? (HOST_PAGES[kind] as HostPage<PageKind>) : undefined;
}
