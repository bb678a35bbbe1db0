/** The model page: the summary of the model, its training results (curves, confusion matrix), the class chart. */
import type { LensInfo, ModelInfo } from '../../shared/protocol';
import type { ModelPageMessage, PanelState } from '../../shared/webviewProtocol';
import { modelSummary } from '../pageData';
import { baseTitle, sendByClass, type HostPage } from './page';

export const modelPage: HostPage<'model'> = {
  kind: 'model',
  title: (s) => baseTitle(s),
  // No engine request of its own: the model and the lens file (with its training results) are read already.
  load: async (ctx, s) => {
    if (ctx.lens?.trainingNote) ctx.log.warn(ctx.lens.trainingNote);
    return modelPageMessage(ctx.model, ctx.lens, s, ctx.title);
  },
  after: async (ctx, s) => {
    if (ctx.lens) await sendByClass(ctx, s);
  },
};

export function modelPageMessage(info: ModelInfo, lens: LensInfo | undefined, state: PanelState, title: string): ModelPageMessage {
  const t = lens?.lastTraining;
  return {
    type: 'model',
    title,
    state,
    model: modelSummary(info, lens),
    training: t
      ? {
          history: t.history.map((h) => ({ ...h })),
          testAccuracy: t.testAccuracy,
          testError: t.testError,
          trainAccuracy: t.trainAccuracy,
          confusion: t.confusion.map((r) => [...r]),
          classes: [...t.classes],
          epochs: t.epochs,
          seconds: t.seconds,
          backend: t.backend,
          crossTests: t.crossTests?.map((c) => ({ ...c })),
        }
      : undefined,
    note: t
      ? undefined
      : lens
        ? (lens.trainingNote ?? 'No training results yet: run "Feature Lens: Train Model".')
        : 'Training results are shown for models trained from a lens file.',
  };
}
