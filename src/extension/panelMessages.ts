/**
 * What the inspector panel does for each message of its webview (already checked by `parseWebviewMessage`):
 * navigate, change a view option, answer a pick or an export, redraw. The panel (inspectorPanel.ts) owns the
 * state and the lifecycle; it hands this function what a message may act on.
 */
import type * as vscode from 'vscode';
import { PAGE_KINDS, type PanelState, type WebviewMessage } from '../shared/webviewProtocol';
import { createLensFile } from './createLens';
import type { EngineClient } from './engineClient';
import type { PngRequest } from './panelExport';
import { compareResults, rematch } from './compareResults';
import { compareNodesState } from './pages/compareNodes';
import { withEngineProgress } from './progress';
import { answerPick, type PickedImages } from './pickedImage';
import type { ViewOptions } from './viewOptions';

/** What a webview message may act on: the panel's state (read when used, as it may change while awaiting) and its helpers. */
export interface MessageHost {
  state(): PanelState;
  engine: EngineClient;
  log: vscode.LogOutputChannel;
  view: ViewOptions;
  picks: PickedImages;
  png: PngRequest;
  navigate(state: PanelState): void;
  /** The webview said `ready`: the panel may post, and draws its page. */
  ready(): Promise<void>;
  render(): Promise<void>;
  maximize(): Promise<void>;
  /** The node page's "Randomize weights" toggle (nodeSanity.ts). */
  randomize(m: Extract<WebviewMessage, { type: 'randomize' }>): Promise<void>;
  /** Computes checkpoint `index` of the node time-lapse on screen (undefined: every one not computed yet). */
  timelapse(index: number | undefined): Promise<void>;
  /** Saves the node time-lapse on screen as an animated GIF where the user says. */
  exportTimelapse(): Promise<void>;
  painted(page: string, drawMs: number | undefined): void;
}

/** Acts on one message from the inspector's webview. */
export async function handlePanelMessage(m: WebviewMessage, p: MessageHost): Promise<void> {
  switch (m.type) {
    case 'ready':
      await p.ready();
      break;
    case 'selectNode':
      p.navigate({ ...p.state(), page: 'node', layer: m.layer, node: m.node, focusImage: undefined });
      break;
    case 'setMethod':
      p.view.setProjectionMethod(m.method);
      p.navigate(p.state());
      break;
    case 'setMetric':
      // The setting's change listener redraws this panel; when the setting did not take, this page is drawn again.
      await p.view.setMetric(m.metric, () => p.navigate(p.state()));
      break;
    case 'selectImage':
      p.navigate({ ...p.state(), image: m.index });
      break;
    case 'openPage': {
      const needs = PAGE_KINDS[m.page].needs;
      if (needs.includes('layer') && p.state().layer === undefined) return;
      if (needs.includes('other') && p.state().other === undefined) return;
      p.navigate({ ...p.state(), page: m.page, node: needs.includes('node') ? (p.state().node ?? 0) : p.state().node });
      break;
    }
    case 'compareLayers':
    case 'compareNodes':
    case 'openOtherNode':
      await handleCompareMessage(m, p);
      break;
    case 'maximize':
    case 'randomize':
    case 'timelapse':
    case 'exportTimelapse':
      await handleNodePageMessage(m, p);
      break;
    case 'pickImage':
    case 'clearImage':
      if (await answerPick(m.type, p.state().model, p.picks, p.log)) p.navigate(p.state());
      break;
    case 'createLens': {
      const lens = await createLensFile(p.engine, p.state().model);
      if (lens) p.navigate({ page: 'model', lens, model: p.state().model });
      break;
    }
    case 'showLog':
      p.log.show(true);
      break;
    case 'retry':
      await p.render();
      break;
    case 'exportPng':
      p.png.answer(m.data);
      break;
    case 'painted':
      p.painted(m.page, m.drawMs);
      break;
    case 'log':
      p.log[m.level](`webview: ${m.message}`);
      break;
  }
}

/** The comparison pages' messages: rematch the layers, open a pair of nodes, or model B's node page. */
async function handleCompareMessage(m: Extract<WebviewMessage, { type: 'compareLayers' | 'compareNodes' | 'openOtherNode' }>, p: MessageHost): Promise<void> {
  switch (m.type) {
    case 'compareLayers':
      await rematch(
        { state: p.state, call: p.engine.call.bind(p.engine), navigate: p.navigate, render: p.render, withProgress: withEngineProgress },
        compareResults,
        m.layer,
        m.otherLayer,
      );
      break;
    case 'compareNodes':
      p.navigate(compareNodesState(p.state(), m));
      break;
    case 'openOtherNode': {
      // Model B's node page: its lens file names the model (the guard has checked the lens file already).
      const otherLens = p.state().other;
      if (!otherLens) return;
      const other = await p.engine.call('lens', { lens: otherLens });
      p.navigate({ page: 'node', lens: other.path, model: other.model, layer: m.layer, node: m.node });
      break;
    }
  }
}

/** The node page's actions: activation maximization, the randomized-weights toggle, the time-lapse and its GIF. */
async function handleNodePageMessage(
  m: Extract<WebviewMessage, { type: 'maximize' | 'randomize' | 'timelapse' | 'exportTimelapse' }>,
  p: MessageHost,
): Promise<void> {
  switch (m.type) {
    case 'maximize':
      await p.maximize();
      break;
    case 'randomize':
      await p.randomize(m);
      break;
    case 'timelapse':
      await p.timelapse(m.index);
      break;
    case 'exportTimelapse':
      await p.exportTimelapse();
      break;
  }
}
