/**
 * Messages between the extension host and the inspector webview. Plain data only; pixels travel as exact-size
 * `ArrayBuffer`s of float32 with their shape. The webview says `ready` first; the host sends nothing before.
 * Types only, plus the table of page kinds: the webview's messages are in `webviewMessages.ts` (re-exported
 * here, as are the comparison pages in `compareMessages.ts`, the node page's randomized-weights row in
 * `sanityMessages.ts` and its time-lapse in `timelapseMessages.ts`), the checks of what the webview sends in
 * `webviewChecks.ts`, the packing of buffers into one message in `messagePacking.ts`.
 */
import type { CompareNodesPageMessage, ComparePageMessage } from './compareMessages';
import type { ProjectionMethod, ScoreMetric } from './protocol';
import type { RandomizeView, SanityProgressMessage, SanityRowMessage } from './sanityMessages';
import type { TimelapseUpdateMessage } from './timelapseMessages';

// ---- the page kinds -----------------------------------------------------------------------------------------

/** One page kind: the panel state fields it needs, and (as a type only) the message that carries its page. */
export interface PageKindSpec<M extends { type: string }> {
  /** State fields without which the page cannot be drawn (`parsePanelState` refuses a state without them). */
  needs: readonly PageNeed[];
  /** Never set: carries the page message's type. */
  readonly message?: M;
}
/** A panel state field a page kind cannot be drawn without (`other`: the second lens file of a comparison). */
export type PageNeed = 'layer' | 'node' | 'other';
const pageKind = <M extends { type: string }>(...needs: PageNeed[]): PageKindSpec<M> => ({ needs });

/**
 * Every page the panel can show, the one place page kinds are listed. A new page is one line here (with its
 * message type below), one module in `src/extension/pages/` that loads it and one in `src/webview/pages/`
 * that draws it (docs/architecture.md, "Adding a page").
 */
export const PAGE_KINDS = {
  model: pageKind<ModelPageMessage>(),
  layer: pageKind<LayerPageMessage>('layer'),
  node: pageKind<NodePageMessage>('layer', 'node'),
  compare: pageKind<ComparePageMessage>('other'),
  compareNodes: pageKind<CompareNodesPageMessage>('other', 'layer', 'node'),
} as const;

export type PageKind = keyof typeof PAGE_KINDS;
/** The message carrying a page of kind `K`. */
export type PageMessageOf<K extends PageKind> = NonNullable<(typeof PAGE_KINDS)[K]['message']>;
export type PageMessage = PageMessageOf<PageKind>;
/** The page kinds in table order. */
export const PAGE_KIND_LIST = Object.keys(PAGE_KINDS) as readonly PageKind[];

export function isPageKind(v: unknown): v is PageKind {
  return typeof v === 'string' && Object.hasOwn(PAGE_KINDS, v);
}

// A page message's `type` is its kind (what the webview dispatches on): a kind whose message says otherwise
// makes the type below that kind's name, to which `true` does not compile.
type MismatchedKind = { [K in PageKind]: PageMessageOf<K>['type'] extends K ? never : K }[PageKind];
export const PAGE_MESSAGE_TYPES_MATCH: [MismatchedKind] extends [never] ? true : MismatchedKind = true;

/** A float32 image or map, row-major: `[h, w, c]`, `[h, w]` or `[n]`. `data.byteLength === 4 * product(shape)`. */
export interface Pixels {
  shape: number[];
  data: ArrayBuffer;
}

/**
 * What a panel shows; stored by the webview (`setState`) so the panel is restored after a reload. How a page
 * is drawn (the projection method, the ranking) is not here: it is the host's `ViewOptions`, the same for every page.
 */
export interface PanelState {
  page: PageKind;
  /** The lens file, when the model comes with one (needed for images, top activations and training results). */
  lens?: string;
  model: string;
  layer?: number;
  node?: number;
  /** Layer page: the dataset image whose feature maps are shown. */
  image?: number;
  /** Node page: the top image to scroll to. */
  focusImage?: number;
  /** Comparison page: the lens file of model B (`lens` and `model` are A's; `layer` is A's matched layer). */
  other?: string;
  /** Comparison page: B's matched layer (default: the engine's choice); side-by-side node pages: B's layer (default: `layer`). */
  otherLayer?: number;
  /** Side-by-side node pages: B's node (default: `node`). */
  otherNode?: number;
}

export interface ModelSummary {
  name: string;
  path: string;
  lens?: string;
  inputShape: number[];
  /** The lens's input preprocessing, as `describePreprocess` words it. */
  preprocess?: string;
  totalParams: number;
  backend: string;
  layers: { index: number; name: string; className: string; outputShape: number[]; nodes: number; params: number; activation?: string }[];
  /** What the import left out (`ModelInfo.note`), shown on the model page. */
  note?: string;
}

// ---- host -> webview: the pages (one message each, `type` = its kind), then what follows a page ------------------------------------------------------------------------------------

export interface LoadingMessage {
  type: 'loading';
  title: string;
  /** Sent again when the page is slow to come: what it waits for (e.g. the engine busy with a long job). */
  wait?: string;
}
export interface ErrorMessage {
  type: 'error';
  title: string;
  message: string;
}
export interface TopItem {
  index: number;
  score: number;
  label: number;
  className: string;
  image: Pixels;
  featureMap: Pixels;
  projection?: Pixels;
  /** Ranked by the maximum: where it sits on the feature map, `[y, x]`. */
  location?: [number, number];
}
export interface WeightsView {
  /** `tiles[n][t]`: tile t of the n-th node shown. */
  tiles: Pixels[][];
  nodes: number[];
  rgb: boolean;
  min: number;
  max: number;
}
export interface NodePageMessage {
  type: 'node';
  title: string;
  state: PanelState;
  model: ModelSummary;
  layer: number;
  node: number;
  /** Number of nodes in the layer (for navigation). */
  nodes: number;
  method: ProjectionMethod;
  weights?: WeightsView;
  top?: { metric: ScoreMetric; items: TopItem[] };
  projectionError?: string;
  /** Why there are no top images (no lens, or no index yet). */
  topNote?: string;
  /** Projection limits over all items, for one shared legend. */
  projectionRange?: { min: number; max: number };
  /** A model without a lens file: the image file the user picked for it, seen by this node (absent: none picked). */
  picked?: PickedImageView;
  /** The "Randomize weights" view option (the sanity check's second row, `SanityRowMessage`). */
  randomize?: RandomizeView;
}
/** The node page's picked image (a model without a lens file): one column like a top image, or why it could not be read. */
export interface PickedImageView {
  /** The file as the user knows it (workspace-relative where it can be). */
  name: string;
  image?: Pixels;
  featureMap?: Pixels;
  /** The Frobenius norm of the feature map. */
  score?: number;
  projection?: Pixels;
  projectionError?: string;
  /** One line saying why the file could not be read (then nothing else is set). */
  error?: string;
}
/** Dead-node and selectivity figures for the node on the page, sent after the page (from `layerByClass`). */
export interface NodeStatsMessage {
  type: 'nodeStats';
  layer: number;
  node: number;
  deadFraction: number;
  selectivity: number;
  topClass: string;
  classes: number;
}
export interface ByClassView {
  classes: string[];
  layerNames: string[];
  /** `norms[c][l]`. */
  norms: number[][];
  /** Column of `layerNames` to highlight (the page's layer), or -1. */
  highlight: number;
}
export interface LayerPageMessage {
  type: 'layer';
  title: string;
  state: PanelState;
  model: ModelSummary;
  layer: number;
  nodes: number;
  weights?: WeightsView;
  /** A dataset image's feature maps, or (`picked`: the file's name) those of the image picked for a model without a lens file. */
  featureMaps?: { index: number; className: string; images: number; image: Pixels; maps: Pixels; min: number; max: number; picked?: string };
  note?: string;
}
/** The class × layer chart, sent after the layer or model page (it takes a pass over the test split). */
export interface ByClassMessage {
  type: 'byClass';
  /** The comparison page: the chart of model A or B (absent: the page's one model). */
  side?: 'a' | 'b';
  /** Absent when there is no chart to draw; `note` then says why. */
  chart?: ByClassView;
  note?: string;
}
export interface ModelPageMessage {
  type: 'model';
  title: string;
  state: PanelState;
  model: ModelSummary;
  training?: {
    history: { epoch: number; loss: number; accuracy: number; testLoss?: number; testAccuracy?: number }[];
    testAccuracy: number;
    testError: number;
    trainAccuracy: number;
    confusion: number[][];
    classes: string[];
    epochs: number;
    seconds: number;
    backend: string;
    crossTests?: { name: string; accuracy: number; error: number }[];
  };
  note?: string;
}
export interface MaximizeProgressMessage {
  type: 'maximizeProgress';
  step: number;
  /** Steps in all, when the engine says. */
  steps?: number;
  objective: number;
  /** Speed and time left ("300 steps/s, about 2 s left"). */
  note?: string;
}
export interface MaximizedMessage {
  type: 'maximized';
  layer: number;
  node: number;
  image: Pixels;
  curve: number[];
}
/** Asks the webview to compose its canvases into one PNG and send it back (`exportPng`). */
export interface ExportRequestMessage {
  type: 'export';
}

/** What comes after a page and adds to it (the webview hands it to the module of the page on screen). */
export type PageUpdateMessage =
  NodeStatsMessage | ByClassMessage | MaximizeProgressMessage | MaximizedMessage | SanityProgressMessage | SanityRowMessage | TimelapseUpdateMessage;
export type * from './timelapseMessages';
export type * from './sanityMessages';
export type * from './compareMessages';

export type HostMessage = LoadingMessage | ErrorMessage | PageMessage | PageUpdateMessage | ExportRequestMessage;

// ---- webview -> host (webviewMessages.ts) ---------------------------------------------------------------

export type {
  ReadyMessage,
  SelectNodeMessage,
  SetMethodMessage,
  SetMetricMessage,
  MaximizeMessage,
  PickImageMessage,
  CreateLensMessage,
  ErrorActionMessage,
  SelectImageMessage,
  OpenPageMessage,
  ExportPngMessage,
  CompareLayersMessage,
  OpenOtherNodeMessage,
  RandomizeMessage,
  CompareNodesMessage,
  PaintedMessage,
  LogMessage,
  WebviewMessage,
} from './webviewMessages';
