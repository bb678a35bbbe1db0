/**
 * Computes the frames of the node time-lapse the panel shows (issue 14), in the jobs engine under a cancellable
 * notification with throughput and time left (each checkpoint's top-activation index is scanned on demand and
 * kept by the engine like the model's own); each frame is kept (pages/nodeTimelapse.ts) and posted as it comes.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HostMessage, PanelState } from '../shared/webviewProtocol';
import { EngineRequestError, type EngineClient } from './engineClient';
import { shortMessage } from './errorText';
import { freeName, TimelapseCache, timelapseFrameMessage, timelapseNode, type TimelapseKey } from './pages/nodeTimelapse';
import { withEngineProgress } from './progress';
import type { ViewOptionValues } from './viewOptions';

/** The top images per frame (as the node page shows). */
const K = 9;

export class NodeTimelapseJobs {
  /** Frames asked for and not yet computed (a second ask while one runs is dropped). */
  private readonly pending = new Set<string>();

  constructor(readonly cache: TimelapseCache) {}

  /**
   * Computes checkpoint `index` of the series on screen (undefined: every one not computed yet), posting each
   * frame while `onScreen()`. Frames already kept are posted again at once.
   */
  async compute(
    jobs: EngineClient,
    storageDir: string,
    s: PanelState,
    view: ViewOptionValues,
    index: number | undefined,
    post: (m: HostMessage) => void,
    onScreen: () => boolean,
  ): Promise<void> {
    const at = timelapseNode(s);
    if (!at) return;
    const key: TimelapseKey = { ...at, model: s.model, method: view.method, metric: view.metric };
    const id = TimelapseCache.key(key);
    const epochs = this.cache.epochs(id);
    if (!epochs) return;
    const wanted = (index === undefined ? this.cache.missing(id) : [index]).filter((i) => i < epochs.length);
    const kept = wanted.map((i) => this.cache.get(id, i)).filter((f) => f !== undefined);
    for (const f of kept) if (onScreen()) post(f);
    const todo = wanted.filter((i) => !this.cache.get(id, i) && !this.pending.has(`${id}#${i}`));
    if (!todo.length) return;
    for (const i of todo) this.pending.add(`${id}#${i}`);
    const status = (busy: boolean, message?: string) =>
      onScreen() && post({ type: 'timelapseStatus', layer: key.layer, node: key.node, busy, ...(message ? { message } : {}) });
    const title = `Feature Lens: time-lapse of layer ${key.layer}, node ${key.node}`;
    try {
      await withEngineProgress(
        title,
        async (opts) => {
          for (const [j, i] of todo.entries()) {
            // The user has left the node (or changed its view): the rest is computed when asked for again.
            if (!onScreen()) break;
            status(true, `Computing epoch ${epochs[i]} (${j + 1} of ${todo.length})…`);
            const r = await jobs.call(
              'timelapse',
              { lens: key.lens, storageDir, layer: key.layer, node: key.node, k: K, metric: key.metric, method: key.method, checkpoint: i },
              { token: opts.token, onProgress: (p) => opts.onProgress?.({ ...p, fraction: (j + (p.fraction ?? 0)) / todo.length }) },
            );
            this.pending.delete(`${id}#${i}`);
            const frame = timelapseFrameMessage(r.frames[0], i, key.node, key.method, key.metric, K);
            if (this.cache.set(id, frame) && onScreen()) post(frame);
          }
        },
        undefined,
        'The epochs computed so far are kept.',
      );
      status(false);
    } catch (e) {
      const cancelled = e instanceof EngineRequestError && e.error.code === 'cancelled';
      status(false, cancelled ? 'Cancelled: the epochs computed so far are kept.' : `Time-lapse stopped: ${shortMessage(e)}`);
      if (!cancelled) throw e;
    } finally {
      for (const i of todo) this.pending.delete(`${id}#${i}`);
    }
  }

  /**
   * Saves the time-lapse of the node in `s` as an animated GIF: the save dialog proposes a name beside the lens
   * file that no file has (VS Code's dialog asks before replacing one the user picks); the engine writes it
   * atomically, with progress and Cancel.
   */
  async exportGif(jobs: EngineClient, storageDir: string, s: PanelState, view: ViewOptionValues, log: vscode.LogOutputChannel): Promise<void> {
    const at = timelapseNode(s);
    if (!at) return;
    const stem = `${path.basename(at.lens).replace(/\.lens\.json$/, '')}-layer${at.layer}-node${at.node}-timelapse`;
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(freeName(path.dirname(at.lens), stem, '.gif')),
      filters: { 'Animated GIF': ['gif'] },
      title: 'Export Time-lapse as Animated GIF',
    });
    if (!target) return;
    const { lens, layer, node } = at;
    const r = await withEngineProgress(`Feature Lens: time-lapse GIF of layer ${layer}, node ${node}`, (opts) =>
      jobs.call('timelapseGif', { lens, storageDir, layer, node, k: K, metric: view.metric, method: view.method, file: target.fsPath }, opts),
    );
    log.info(`Exported the time-lapse of layer ${layer}, node ${node} to ${r.file} (${r.frames} frames, ${r.bytes} bytes).`);
    const pick = await vscode.window.showInformationMessage(`Feature Lens: saved ${vscode.workspace.asRelativePath(target)} (${r.frames} epochs).`, 'Open');
    if (pick === 'Open') await vscode.commands.executeCommand('vscode.open', target);
  }
}
