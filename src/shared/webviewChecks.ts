/**
 * The checks of everything the inspector webview sends (and of a panel state restored after a reload): types,
 * ranges and indices, before the host acts on it. The messages themselves are in `webviewProtocol.ts`.
 */
import { isProjectionMethod, isScoreMetric, type ProjectionMethod } from './protocol';
import { isPageKind, PAGE_KINDS, type LogMessage, type PanelState, type WebviewMessage } from './webviewProtocol';

/** What the panel currently shows, for range checks: indices outside these are rejected. */
export interface MessageBounds {
  /** Layers in the model. */
  layers: number;
  /** Nodes in each layer, by layer index. */
  nodesPerLayer: number[];
  /** Images in the dataset split the panel uses (0 when there is no dataset). */
  images: number;
}

const LEVELS = ['info', 'warn', 'error'] as const;
/** Exported PNGs larger than this are refused (a panel of canvases is a few MB at most). */
const MAX_EXPORT_BYTES = 64 * 1024 * 1024;

/** Upper limits for indices into model B of a comparison, which the panel has not read (the engine checks them). */
const MAX_LAYERS = 100_000;
const MAX_NODES = 10_000_000;

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
    case 'pickImage':
    case 'clearImage':
    case 'showLog':
    case 'retry':
    case 'exportTimelapse':
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
      if (!isPageKind(m.page)) return drop(`unknown page ${String(m.page)}`);
      return { type: 'openPage', page: m.page };
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
      if (!isPageKind(m.page)) return drop(`unknown page ${String(m.page)}`);
      return { type: 'painted', page: m.page, ...(typeof m.drawMs === 'number' && Number.isFinite(m.drawMs) && m.drawMs >= 0 ? { drawMs: m.drawMs } : {}) };
    case 'log':
      if (typeof m.level !== 'string' || !(LEVELS as readonly string[]).includes(m.level) || typeof m.message !== 'string')
        return drop('malformed log message');
      return { type: 'log', level: m.level as LogMessage['level'], message: m.message.slice(0, 2000) };
    default:
      return parsePageMessage(m, bounds, drop);
  }
}

/** `parseWebviewMessage` for the messages of one page (comparisons, the node page's toggles and time-lapse), and the unknown ones. */
function parsePageMessage(m: Record<string, unknown>, bounds: MessageBounds | undefined, drop: (why: string) => undefined): WebviewMessage | undefined {
  switch (m.type) {
    case 'compareLayers': {
      const layers = bounds?.layers ?? 0;
      if (m.layer !== undefined && !isIndex(m.layer, layers)) return drop(`layer ${String(m.layer)} out of range (0..${layers - 1})`);
      // B's layers are not known here: the engine checks the index (and says so on the page).
      if (m.otherLayer !== undefined && !isIndex(m.otherLayer, MAX_LAYERS)) return drop(`other layer ${String(m.otherLayer)} is not a layer index`);
      return { type: 'compareLayers', layer: m.layer as number | undefined, otherLayer: m.otherLayer as number | undefined };
    }
    case 'openOtherNode':
      if (!isIndex(m.layer, MAX_LAYERS) || !isIndex(m.node, MAX_NODES)) return drop(`openOtherNode with layer ${String(m.layer)}, node ${String(m.node)}`);
      return { type: 'openOtherNode', layer: m.layer, node: m.node };
    case 'randomize':
      if (typeof m.on !== 'boolean' || (m.depth !== undefined && !isIndex(m.depth, MAX_LAYERS + 1))) return drop('randomize without on, or a bad depth');
      return { type: 'randomize', on: m.on, ...(m.depth !== undefined ? { depth: m.depth as number } : {}) };
    case 'compareNodes': {
      if (!bounds) return drop('compareNodes before the panel shows a model');
      if (!isIndex(m.layer, bounds.layers)) return drop(`layer ${String(m.layer)} out of range (0..${bounds.layers - 1})`);
      const nodes = bounds.nodesPerLayer[m.layer] ?? 0;
      if (!isIndex(m.node, nodes)) return drop(`node ${String(m.node)} out of range (layer ${m.layer} has ${nodes} nodes)`);
      // B's layers are not known here: the page checks them against B's model.
      if (!isIndex(m.otherLayer, MAX_LAYERS) || !isIndex(m.otherNode, MAX_NODES))
        return drop(`compareNodes with other layer ${String(m.otherLayer)}, node ${String(m.otherNode)}`);
      return { type: 'compareNodes', layer: m.layer, node: m.node, otherLayer: m.otherLayer, otherNode: m.otherNode };
    }
    case 'timelapse':
      // The series' length is the host's to check (the webview only offers its positions).
      if (m.index !== undefined && !isIndex(m.index, MAX_LAYERS)) return drop(`timelapse checkpoint ${String(m.index)} is not an index`);
      return { type: 'timelapse', ...(m.index !== undefined ? { index: m.index as number } : {}) };
    default:
      return drop(`unknown message type ${JSON.stringify(m.type)?.slice(0, 40)}`);
  }
}

/** Validates a stored panel state (from the serializer after a reload): undefined when it is not usable. */
export function parsePanelState(raw: unknown): PanelState | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const s = raw as Record<string, unknown>;
  if (!isPageKind(s.page)) return undefined;
  if (typeof s.model !== 'string' || !s.model) return undefined;
  if (s.lens !== undefined && typeof s.lens !== 'string') return undefined;
  const nat = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
  if (!nat(s.layer) || !nat(s.node) || !nat(s.image) || !nat(s.focusImage) || !nat(s.otherLayer) || !nat(s.otherNode)) return undefined;
  if (s.other !== undefined && (typeof s.other !== 'string' || !s.other)) return undefined;
  // (A stored `method`, from before the view options had their own home, is ignored.)
  if (PAGE_KINDS[s.page].needs.some((field) => s[field] === undefined)) return undefined;
  return {
    page: s.page,
    model: s.model,
    lens: s.lens as string | undefined,
    layer: s.layer as number | undefined,
    node: s.node as number | undefined,
    image: s.image as number | undefined,
    focusImage: s.focusImage as number | undefined,
    ...(s.other !== undefined
      ? { other: s.other as string, otherLayer: s.otherLayer as number | undefined, ...(s.otherNode !== undefined ? { otherNode: s.otherNode as number } : {}) }
      : {}),
  };
}
