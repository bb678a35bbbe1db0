/** Activation maximization of the node on the panel's page, run in the jobs engine, its result kept for redraws. */
import { toPixels } from '../shared/messagePacking';
import type { HostMessage, MaximizedMessage, PanelState } from '../shared/webviewProtocol';
import type { EngineClient } from './engineClient';
import { UserFacingError } from './errorText';
import { withEngineProgress } from './progress';
import { ProgressMeter } from './progressMeter';

export class NodeMaximizer {
  /** The last result, shown again when its node's page is drawn anew. */
  private last: { model: string; lens?: string; msg: MaximizedMessage } | undefined;

  /** The last result for the node in `s`, if any. */
  resultFor(s: PanelState): MaximizedMessage | undefined {
    const m = this.last;
    // Per lens too: a lens's preprocess changes what the node sees.
    return m && m.model === s.model && m.lens === s.lens && m.msg.layer === s.layer && m.msg.node === s.node ? m.msg : undefined;
  }

  forget(): void {
    this.last = undefined;
  }

  /**
   * Maximizes the node in `s` with progress and Cancel; `post` gets the progress and the result while
   * `onScreen()` says the node's page is still shown.
   */
  async run(jobs: EngineClient, s: PanelState, post: (m: HostMessage) => void, onScreen: () => boolean): Promise<void> {
    const { model, lens, layer, node } = s;
    if (layer === undefined || node === undefined) throw new UserFacingError('Open a node first: activation maximization works on one node.');
    const meter = new ProgressMeter();
    const result = await withEngineProgress(
      `Feature Lens: maximizing layer ${layer}, node ${node}`,
      (opts) => jobs.call('maximize', { model, ...(lens ? { lens } : {}), layer, node }, opts),
      (p) => {
        const note = p.count ? meter.message({ count: p.count }) : undefined;
        if (p.objective !== undefined && onScreen())
          post({
            type: 'maximizeProgress',
            step: p.count?.done ?? Math.round((p.fraction ?? 0) * 1000),
            steps: p.count?.total,
            objective: p.objective,
            ...(note ? { note } : {}),
          });
      },
    );
    this.last = {
      model,
      lens,
      msg: { type: 'maximized', layer: result.layer, node: result.node, image: toPixels(result.image.shape, result.image.data), curve: [...result.curve] },
    };
    if (onScreen()) post(this.last.msg);
  }
}
