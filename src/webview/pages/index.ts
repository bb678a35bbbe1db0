/**
 * The webview's pages, one module each, looked up by their kind in `PAGE_KINDS` (src/shared/webviewProtocol.ts):
 * the type below makes a kind without its module, or a module under another kind, a compile error.
 */
import { isPageKind, PAGE_KIND_LIST, type PageKind } from '../../shared/webviewProtocol';
import { comparePage } from './compare';
import { compareNodesPage } from './compareNodes';
import { layerPage } from './layer';
import { modelPage } from './model';
import { nodePage } from './node';
import type { WebviewPage } from './page';

export const WEBVIEW_PAGES: { readonly [K in PageKind]: WebviewPage<K> } = {
  model: modelPage,
  layer: layerPage,
  node: nodePage,
  compare: comparePage,
  compareNodes: compareNodesPage,
};

/** The module that draws pages of kind `kind`, or undefined when there is no such kind. */
export function webviewPage(kind: unknown): WebviewPage<PageKind> | undefined {
  return isPageKind(kind) ? (WEBVIEW_PAGES[kind] as WebviewPage<PageKind>) : undefined;
}

/** Every page, in `PAGE_KINDS` order. */
export const ALL_PAGES: readonly WebviewPage<PageKind>[] = PAGE_KIND_LIST.map((k) => WEBVIEW_PAGES[k] as WebviewPage<PageKind>);
