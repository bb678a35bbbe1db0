/**
 * The picked image of a model without a lens file, on the node page: one `inspectImage` request (the file read
 * and fitted to the model's input, the node's feature map, its projection by the view's method). A file that
 * cannot be read (moved, damaged, not an image) is one line on the page, not an error page.
 */
import { toPixels } from '../../shared/messagePacking';
import type { PickedImageView } from '../../shared/webviewProtocol';
import type { PageContext } from './page';

export async function pickedImageView(ctx: PageContext, model: string, layer: number, node: number): Promise<PickedImageView | undefined> {
  const picked = ctx.picked;
  if (!picked) return undefined;
  try {
    const r = await ctx.call('inspectImage', { model, file: picked.file, layer, node, method: ctx.view.method });
    return {
      name: picked.name,
      image: toPixels(r.image.shape, r.image.data),
      featureMap: toPixels(r.featureMap.shape, r.featureMap.data),
      score: r.score,
      ...(r.projection ? { projection: toPixels(r.projection.shape, r.projection.data) } : {}),
      ...(r.projectionError ? { projectionError: r.projectionError } : {}),
    };
  } catch (e) {
    return { name: picked.name, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}
