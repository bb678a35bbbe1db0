/** The layer activation by class of each lens's model, read once per weights from the stored index. */
import type { LayerByClassResult, LensInfo, ModelInfo } from '../shared/protocol';
import type { EngineClient } from './engineClient';

export class ByClassCache {
  private readonly tables = new Map<string, Promise<LayerByClassResult | null>>();

  constructor(
    private readonly engine: EngineClient,
    private readonly storageDir: () => Promise<string>,
  ) {}

  /**
   * The class table from a stored index only (indexOnly: a page never starts a scan, which would run with no
   * progress or Cancel and hold up every later request); null until "Compute Top Activations" has run.
   */
  get(lens: LensInfo, info: ModelInfo): Promise<LayerByClassResult | null> {
    const key = `${lens.path}:${info.weightsHash}`;
    let p = this.tables.get(key);
    if (!p) {
      const q = this.storageDir().then((storageDir) => this.engine.call('layerByClass', { lens: lens.path, storageDir, indexOnly: true }));
      // Only a found table is kept: a missing index may be written by the next scan.
      q.then(
        (r) => r ?? this.tables.delete(key),
        () => this.tables.delete(key),
      );
      this.tables.set(key, q);
      p = q;
    }
    return p;
  }

  clear(): void {
    this.tables.clear();
  }
}
