/**
 * How pages are drawn, in one home: the projection method of the node page's top images and the score they are
 * ranked by. Every page reads them here (a snapshot per page, `values()`); the panel state holds only what is
 * shown. The ranking is the setting `featureLens.topActivations.rankBy` (the Top Activations view follows it too);
 * the projection method is remembered per workspace.
 */
import type * as vscode from 'vscode';
import { isProjectionMethod, type ProjectionMethod, type ScoreMetric } from '../shared/protocol';
import type { RandomizeView } from '../shared/webviewProtocol';
import { RANK_BY_KEY, rankBySetting, updateUserSetting } from './settings';

export interface ViewOptionValues {
  method: ProjectionMethod;
  metric: ScoreMetric;
  /** The node page's "Randomize weights" row (the sanity check of its projections). */
  randomize?: RandomizeView;
}

const METHOD_KEY = 'featureLens.projectionMethod';
const RANDOMIZE_KEY = 'featureLens.randomizeWeights';

export class ViewOptions {
  private method: ProjectionMethod | undefined;
  private randomizeView: RandomizeView | undefined;

  constructor(private readonly memento?: vscode.Memento) {}

  values(): ViewOptionValues {
    return { method: this.projectionMethod(), metric: rankBySetting(), randomize: this.randomize() };
  }

  randomize(): RandomizeView {
    const v = this.randomizeView ?? this.memento?.get<RandomizeView>(RANDOMIZE_KEY);
    return { on: v?.on === true, ...(typeof v?.depth === 'number' ? { depth: v.depth } : {}) };
  }

  setRandomize(v: RandomizeView): void {
    this.randomizeView = v;
    void this.memento?.update(RANDOMIZE_KEY, v);
  }

  projectionMethod(): ProjectionMethod {
    if (this.method) return this.method;
    const stored = this.memento?.get<unknown>(METHOD_KEY);
    return isProjectionMethod(stored) ? stored : 'deconv';
  }

  setProjectionMethod(method: ProjectionMethod): void {
    this.method = method;
    void this.memento?.update(METHOD_KEY, method);
  }

  /**
   * Ranks by `metric` from now on (the user setting; its change listener redraws the panel and the Top
   * Activations view). When the setting did not take that value (a more specific scope sets it, or settings.json
   * cannot be written), `notTaken` is called so the page is drawn again with the ranking in use.
   */
  async setMetric(metric: ScoreMetric, notTaken: () => void): Promise<void> {
    if (metric === rankBySetting()) return;
    try {
      await updateUserSetting(RANK_BY_KEY, metric);
    } finally {
      if (rankBySetting() !== metric) notTaken();
    }
  }
}
