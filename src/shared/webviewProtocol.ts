/**
 * Messages between the extension host and the inspector webview. Plain data only; pixels travel as exact-size
 * `ArrayBuffer`s of float32 with their shape. The webview says `ready` first; the host sends nothing before.
 * Everything the webview sends is checked by `parseWebviewMessage` before the host acts on it.
 * Imports only types and plain data from protocol.ts, so the host, the webview and the tests can all use it.
 */
import { isProjectionMethod, isScoreMetric, type ProjectionMethod, type ScoreMetric } from './protocol';

/** A float32 image or map, row-major: `[h, w, c]`, `[h, w]` or `[n]`. `data.byteLength === 4 * product(shape)`. */
export interface Pixels {
  shape: number[];
  data: ArrayBuffer;
}

/** What a panel shows; stored by the webview (`setState`) so the panel is restored after a reload. */
export interface PanelState {
  page: 'node' | 'layer' | 'model';
  /** The lens file, when the model comes with one (needed for images, top activations and training results). */
  lens?: string;
  model: string;
  layer?: number;
  node?: number;
  method?: ProjectionMethod;
  /** Layer page: the dataset image whose feature maps are shown. */
  image?: number;
  /** Node page: the top image to scroll to. */
  focusImage?: number;
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
}

// ---- host -> webview ------------------------------------------------------------------------------------

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
  featureMaps?: { index: number; className: string; images: number; image: Pixels; maps: Pixels; min: number; max: number };
  note?: string;
}
/** The class × layer chart, sent after the layer or model page (it takes a pass over the test split). */
export interface ByClassMessage {
  type: 'byClass';
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

export type HostMessage =
  | LoadingMessage
  | ErrorMessage
  | NodePageMessage
  | NodeStatsMessage
  | LayerPageMessage
  | ByClassMessage
  | ModelPageMessage
  | MaximizeProgressMessage
  | MaximizedMessage
  | ExportRequestMessage;

// ---- webview -> host ------------------------------------------------------------------------------------

export interface ReadyMessage {
  type: 'ready';
}
/** Go to another node (keyboard navigation, a click on a weight tile). */
export interface SelectNodeMessage {
  type: 'selectNode';
  layer: number;
  node: number;
}
export interface SetMethodMessage {
  type: 'setMethod';
  method: ProjectionMethod;
}
/** Rank top images by another score (the `featureLens.topActivations.rankBy` setting). */
export interface SetMetricMessage {
  type: 'setMetric';
  metric: ScoreMetric;
}
export interface MaximizeMessage {
  type: 'maximize';
}
/** Model page of a model without a lens file: write a lens file for it (the host asks for the dataset). */
export interface CreateLensMessage {
  type: 'createLens';
}
/** Error page: open the Feature Lens log, or draw the page again. */
export interface ErrorActionMessage {
  type: 'showLog' | 'retry';
}
/** Layer page: show the feature maps of this dataset image. */
export interface SelectImageMessage {
  type: 'selectImage';
  index: number;
}
export interface OpenPageMessage {
  type: 'openPage';
  page: 'node' | 'layer' | 'model';
}
export interface ExportPngMessage {
  type: 'exportPng';
  /** PNG file bytes. */
  data: Uint8Array;
}
/** The page for the last host message is drawn (the host logs the time from request to paint). */
export interface PaintedMessage {
  type: 'painted';
  page: 'node' | 'layer' | 'model';
  /** Milliseconds the webview spent from receiving the page to the frame after drawing it. */
  drawMs?: number;
}
export interface LogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

export type WebviewMessage =
  | ReadyMessage
  | SelectNodeMessage
  | SetMethodMessage
  | SetMetricMessage
  | MaximizeMessage
  | CreateLensMessage
  | ErrorActionMessage
  | SelectImageMessage
  | OpenPageMessage
  | ExportPngMessage
  | PaintedMessage
  | LogMessage;

/** What the panel currently shows, for range checks: indices outside these are rejected. */
export interface MessageBounds {
  /** Layers in the model. */
  layers: number;
  /** Nodes in each layer, by layer index. */
  nodesPerLayer: number[];
  /** Images in the dataset split the panel uses (0 when there is no dataset). */
  images: number;
}

const PAGES = ['node', 'layer', 'model'] as const;
const LEVELS = ['info', 'warn', 'error'] as const;
/** Exported PNGs larger than this are refused (a panel of canvases is a few MB at most). */
const MAX_EXPORT_BYTES = 64 * 1024 * 1024;

function isIndex(v: unknown, size: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < size;
}

/**
 * Checks a message from the webview: its type is known, every field has the right type, and indices are in
 * range for `bounds`. Returns the message rebuilt from the checked fields only, or undefined (the reason goes
 * to `onDrop`, for the log).
 */
export function parseWebviewMessage(raw: unknown, bounds?: MessageBounds, onDrop?: (why: string) => void): WebviewMessage | undefined {
  const drop = (why: string): undefined => {
    onDrop?.(why);
    return undefined;
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return drop('not an object');
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'maximize':
    case 'createLens':
    case 'showLog':
    case 'retry':
      return { type: m.type };
    case 'selectNode': {
      if (!bounds) return drop('selectNode before the panel shows a model');
      if (!isIndex(m.layer, bounds.layers)) return drop(`layer ${String(m.layer)} out of range (0..${bounds.layers - 1})`);
      const nodes = bounds.nodesPerLayer[m.layer] ?? 0;
      if (!isIndex(m.node, nodes)) return drop(`node ${String(m.node)} out of range (layer ${m.layer} has ${nodes} nodes)`);
      return { type: 'selectNode', layer: m.layer, node: m.node };
    }
    case 'setMethod':
      if (!isProjectionMethod(m.method)) return drop(`unknown projection method ${String(m.method)}`);
      return { type: 'setMethod', method: m.method as ProjectionMethod };
    case 'setMetric':
      if (!isScoreMetric(m.metric)) return drop(`unknown score metric ${String(m.metric)}`);
      return { type: 'setMetric', metric: m.metric };
    case 'selectImage': {
      const images = bounds?.images ?? 0;
      if (!isIndex(m.index, images)) return drop(`image ${String(m.index)} out of range (${images} images)`);
      return { type: 'selectImage', index: m.index };
    }
    case 'openPage':
      if (typeof m.page !== 'string' || !(PAGES as readonly string[]).includes(m.page)) return drop(`unknown page ${String(m.page)}`);
      return { type: 'openPage', page: m.page as OpenPageMessage['page'] };
    case 'exportPng': {
      const d = m.data;
      const bytes = d instanceof Uint8Array ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : undefined;
      if (!bytes) return drop('exportPng without bytes');
      if (bytes.byteLength < 8 || bytes.byteLength > MAX_EXPORT_BYTES) return drop(`exportPng of ${bytes.byteLength} bytes`);
      const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
      if (!sig.every((b, i) => bytes[i] === b)) return drop('exportPng data is not a PNG');
      return { type: 'exportPng', data: bytes };
    }
    case 'painted':
      if (typeof m.page !== 'string' || !(PAGES as readonly string[]).includes(m.page)) return drop(`unknown page ${String(m.page)}`);
      return { type: 'painted', page: m.page as PaintedMessage['page'], ...(typeof m.drawMs === 'number' && Number.isFinite(m.drawMs) && m.drawMs >= 0 ? { drawMs: m.drawMs } : {}) };
    case 'log':
      if (typeof m.level !== 'string' || !(LEVELS as readonly string[]).includes(m.level) || typeof m.message !== 'string') return drop('malformed log message');
      return { type: 'log', level: m.level as LogMessage['level'], message: m.message.slice(0, 2000) };
    default:
      return drop(`unknown message type ${JSON.stringify(m.type)?.slice(0, 40)}`);
  }
}

/** Validates a stored panel state (from the serializer after a reload): undefined when it is not usable. */
export function parsePanelState(raw: unknown): PanelState | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const s = raw as Record<string, unknown>;
  if (typeof s.page !== 'string' || !(PAGES as readonly string[]).includes(s.page)) return undefined;
  if (typeof s.model !== 'string' || !s.model) return undefined;
  if (s.lens !== undefined && typeof s.lens !== 'string') return undefined;
  const nat = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
  if (!nat(s.layer) || !nat(s.node) || !nat(s.image) || !nat(s.focusImage)) return undefined;
  if (s.method !== undefined && !isProjectionMethod(s.method)) return undefined;
  if (s.page !== 'model' && s.layer === undefined) return undefined;
  if (s.page === 'node' && s.node === undefined) return undefined;
  return {
    page: s.page as PanelState['page'],
    model: s.model,
    lens: s.lens as string | undefined,
    layer: s.layer as number | undefined,
    node: s.node as number | undefined,
    method: s.method as ProjectionMethod | undefined,
    image: s.image as number | undefined,
    focusImage: s.focusImage as number | undefined,
  };
}

/** Copies a typed array's bytes into an exact-size ArrayBuffer (a view of a larger buffer would send it whole). */
export function toPixels(shape: number[], data: Float32Array): Pixels {
  const exact = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  return { shape: [...shape], data: exact ? (data.buffer as ArrayBuffer) : (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer) };
}

// ---- transport --------------------------------------------------------------------------------------------

/**
 * A host message with every `ArrayBuffer` in it packed into one. VS Code's extension-host RPC counts the
 * arguments of `$postMessage` (handle, JSON, then one per transferred buffer) in a single byte, so a message
 * with 254 or more buffers arrives with all but `count mod 256` of them `undefined`: a layer page of 512
 * weight tiles painted 2. One buffer per message whatever its size avoids the limit (and is also faster).
 */
export interface PackedMessage {
  type: 'packed';
  /** The message, each ArrayBuffer replaced by a `BufferRef` into `buffer`. */
  body: unknown;
  buffer: ArrayBuffer;
}
/** Where one packed ArrayBuffer sits in `PackedMessage.buffer`. */
export interface BufferRef {
  $buffer: [offset: number, byteLength: number];
}

/** Replaces every ArrayBuffer (and typed array) reachable from `m` by a reference into one packed buffer. */
export function packMessage<T>(m: T): PackedMessage {
  const parts: Uint8Array[] = [];
  let size = 0;
  const walk = (v: unknown): unknown => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const offset = size;
      parts.push(bytes);
      // 8-byte aligned, so the webview may also view a part in place as Float32Array or Float64Array.
      size += Math.ceil(bytes.byteLength / 8) * 8;
      return { $buffer: [offset, bytes.byteLength] } satisfies BufferRef;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const body = walk(m);
  const buffer = new ArrayBuffer(size);
  const all = new Uint8Array(buffer);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += Math.ceil(p.byteLength / 8) * 8;
  }
  return { type: 'packed', body, buffer };
}

function isBufferRef(v: unknown): v is BufferRef {
  const r = (v as BufferRef | null)?.$buffer;
  return Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && Object.keys(v as object).length === 1;
}

/** The message `packMessage` packed, each part an exact-size ArrayBuffer again; throws when a part is out of range. */
export function unpackMessage(p: PackedMessage): unknown {
  const { buffer } = p;
  if (!(buffer instanceof ArrayBuffer)) throw new Error('packed message without its buffer');
  const walk = (v: unknown): unknown => {
    if (isBufferRef(v)) {
      const [offset, length] = v.$buffer;
      if (offset < 0 || length < 0 || offset + length > buffer.byteLength) throw new Error(`packed part [${offset}, ${offset + length}) outside a buffer of ${buffer.byteLength} bytes`);
      return buffer.slice(offset, offset + length);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(p.body);
}
