// The Models and Top Activations trees as a user sees them, built from real engine data: a model saved with
// saveModel and read back with loadModel, and a lens file read with lensInfo.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { PNG } from 'pngjs';
import { lensInfo, openDataset, readLens } from '../../src/engine/lens/lens';
import { thumbnails } from '../../src/engine/scan/thumbnails';
import { loadModel, saveModel, unloadModels } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';
import { imageEntries, imageItemView } from '../../src/extension/topImages';
import { shortPaths } from '../../src/extension/treeProblems';
import {
  NODE_CAP,
  itemView,
  layerChildren,
  modelChildren,
  modelEntries,
  modelPathOf,
  parentOf,
  targetOf,
  type LayerEntry,
  type ModelEntry,
  type ModelsEntry,
} from '../../src/extension/treeModel';
import type { LensInfo, ModelInfo } from '../../src/shared/protocol';

describe('tree model', () => {
  let dir: string;
  let cnnPath: string;
  let wideModelPath: string;
  let lensPath: string;
  let cnn: ModelInfo;
  let wide: ModelInfo;
  let lens: LensInfo;

  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-tree-'));
    cnnPath = path.join(dir, 'cnn', 'model.json');
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [20, 20, 1], filters: 4, kernelSize: 3, activation: 'relu', name: 'conv1' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'logits' }),
      ],
    });
    await saveModel(m, cnnPath);
    m.dispose();
    wideModelPath = path.join(dir, 'wide', 'model.json');
    const w = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 600, name: 'wide' })] });
    await saveModel(w, wideModelPath);
    w.dispose();
    cnn = (await loadModel(cnnPath)).info;
    wide = (await loadModel(wideModelPath)).info;
    lensPath = path.join(dir, 'efl.lens.json');
    fs.writeFileSync(
      lensPath,
      JSON.stringify({
        name: 'Letters',
        model: 'cnn/model.json',
        dataset: { format: 'efl', size: [20, 20], trainPerClass: 5, testPerClass: 4, noise: 0.2, negative: false, seed: 1 },
      }),
    );
    lens = await lensInfo(lensPath);
  });
  after(() => {
    unloadModels();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function roots(): ModelEntry[] {
    const files = [cnnPath, wideModelPath, lensPath].map((p) => ({ path: p, relative: path.relative(dir, p) }));
    return modelEntries(files, new Map([[lensPath, lens]]));
  }

  it('lists lens files first and hides models that a lens already names', () => {
    const r = roots();
    assert.deepEqual(
      r.map((e) => [itemView(e).label, itemView(e).description, itemView(e).contextValue]),
      [
        ['Letters', 'ready', 'lens'],
        ['wide', 'no lens file', 'model'],
      ],
    );
    // Tooltips are short: the file and its status, then one line.
    assert.deepEqual(itemView(r[0]).tooltip!.split('\n'), ['efl.lens.json: ready', 'efl dataset, 3 classes, 15 train / 12 test images']);
    assert.equal(itemView(r[1]).tooltip!.split('\n')[0], `${path.join('wide', 'model.json')}: no lens file`);
    assert.equal(modelPathOf(r[0]), cnnPath);
    assert.equal(modelPathOf(r[1]), wideModelPath);
  });

  it('a lens that failed to read shows its error as the only child', () => {
    const files = [{ path: lensPath, relative: 'efl.lens.json' }];
    const [e] = modelEntries(files, new Map([[lensPath, { error: 'efl.lens.json: "dataset" is missing.' }]]));
    assert.equal(itemView(e).icon, 'error');
    const kids = modelChildren(e, undefined);
    assert.equal(kids.length, 1);
    assert.equal(kids[0].kind, 'message');
    assert.equal(itemView(kids[0]).label, '"dataset" is missing');
    assert.equal(itemView(e).description, 'broken');
    // Clicking the row opens the lens file at the field; the lens row's commands still act on that lens.
    assert.equal(itemView(kids[0]).command?.id, 'featureLens.showProblem');
    assert.deepEqual(itemView(kids[0]).command?.args[0], { file: lensPath, message: '"dataset" is missing.', severity: 'error', field: 'dataset' });
    assert.deepEqual(targetOf(e), { lens: lensPath });
    assert.deepEqual(targetOf(kids[0]), { lens: lensPath });
  });

  it('a lens whose dataset is missing still lists its model, with the missing file as a warning row', async () => {
    const lensFile = path.join(dir, 'gone.lens.json');
    fs.writeFileSync(
      lensFile,
      JSON.stringify({
        name: 'Gone',
        model: 'cnn/model.json',
        dataset: {
          format: 'idx',
          train: { images: 'data/a.gz', labels: 'data/b.gz' },
          test: { images: 'data/c.gz', labels: 'data/d.gz' },
          classes: ['x', 'y'],
        },
      }),
    );
    const info = await lensInfo(lensFile);
    assert.equal(info.model, cnnPath);
    assert.deepEqual(info.datasetError, {
      message: `Dataset file ${path.join('data', 'a.gz')} does not exist (the lens file's "dataset.train.images").`,
      field: 'dataset.train.images',
    });
    assert.deepEqual(info.classes, ['x', 'y']);
    const [e] = modelEntries([{ path: lensFile, relative: 'gone.lens.json' }], new Map([[lensFile, info]]));
    assert.equal(itemView(e).description, 'ready · dataset missing');
    assert.equal(itemView(e).icon, 'warning');
    const kids = modelChildren(e, cnn);
    assert.equal(kids[0].kind, 'message');
    assert.equal(itemView(kids[0]).label, `Dataset file ${path.join('data', 'a.gz')} does not exist (the lens file's "dataset.train.images")`);
    assert.equal(itemView(kids[0]).description, 'gone.lens.json: dataset.train.images');
    assert.deepEqual(
      kids.slice(1).map((k) => itemView(k).label),
      ['conv1', 'pool1', 'logits'],
    );
    assert.deepEqual(targetOf(e), { lens: lensFile, model: cnnPath });
    await assert.rejects(lensInfo(path.join(dir, 'nothing.lens.json')), /lens file not found/);
  });

  it('a model that does not load marks its row broken, with the problem on the lens\'s "model" field', () => {
    const [e] = roots();
    const kids = modelChildren(e, undefined, 'model.json is not valid JSON (Unexpected end of JSON input).');
    assert.equal(itemView(e).description, 'broken');
    assert.equal(kids.length, 1);
    assert.deepEqual(itemView(kids[0]).command?.args[0], {
      file: lensPath,
      message: `${path.join('cnn', 'model.json')}: model.json is not valid JSON (Unexpected end of JSON input).`,
      severity: 'error',
      field: 'model',
    });
    // Messages are short: the file's own path at the front goes (the file becomes the subject), paths beside it are relative.
    const m = path.join(dir, 'b', 'model.json');
    assert.equal(shortPaths(`${m}: is not valid JSON (Unexpected end of JSON input).`, m), 'model.json is not valid JSON (Unexpected end of JSON input).');
    assert.equal(shortPaths(`${m}: ${path.join(dir, 'b', 'group1-shard1of1.bin')} is 12 bytes, not 400.`, m), 'group1-shard1of1.bin is 12 bytes, not 400.');
    e.modelError = undefined;
    e.indexReady = true;
    assert.equal(itemView(e).description, 'ready · index ready');
  });

  it('"trained" where the lens\'s recipe trains the model, "ready" where the lens imports a model file', () => {
    // The lens of these tests names a model it has no recipe for (as a lens over an .onnx or .keras file does).
    const status = (l: LensInfo) => itemView({ kind: 'model', id: 'lens:s', file: lensPath, workspaceRelative: 'efl.lens.json', lens: l }).description;
    assert.equal(lens.hasTraining, false);
    assert.equal(status(lens), 'ready');
    assert.equal(status({ ...lens, model: path.join(dir, 'resnet18.onnx') }), 'ready');
    assert.equal(status({ ...lens, hasTraining: true }), 'trained');
    assert.equal(status({ ...lens, hasTraining: true, modelExists: false }), 'untrained');
    assert.equal(status({ ...lens, modelExists: false }), 'no model file');
  });

  it('an untrained lens offers Train Model instead of layers', () => {
    const untrained: LensInfo = { ...lens, modelExists: false, hasTraining: true };
    const e: ModelEntry = { kind: 'model', id: 'lens:x', file: lensPath, workspaceRelative: 'efl.lens.json', lens: untrained };
    const [msg] = modelChildren(e, undefined);
    assert.equal(itemView(msg).command?.id, 'featureLens.trainModel');
    assert.equal((itemView(msg).command?.args[0] as { lens: string }).lens, lensPath);
  });

  it('layers carry name, class and output shape; nodes exist only where a layer has its own', () => {
    const [lensEntry] = roots();
    const layers = modelChildren(lensEntry, cnn) as LayerEntry[];
    assert.deepEqual(
      layers.map((l) => [itemView(l).label, itemView(l).description, itemView(l).contextValue, itemView(l).collapsible]),
      [
        ['conv1', 'Conv2D [18, 18, 4]', 'layer', 'collapsed'],
        ['pool1', 'MaxPooling2D [9, 9, 4]', 'layer', 'collapsed'],
        // Flatten only moves data: not an inspectable layer
        ['logits', 'Dense [3]', 'layer', 'collapsed'],
      ],
    );
    const nodes = layerChildren(layers[0]);
    assert.deepEqual(
      nodes.map((n) => itemView(n).label),
      ['node 0', 'node 1', 'node 2', 'node 3'],
    );
    assert.deepEqual(
      nodes.map((n) => itemView(n).contextValue),
      ['node', 'node', 'node', 'node'],
    );
    assert.equal(layerChildren(layers[2]).length, 3);
    const click = itemView(nodes[2]).command!;
    assert.equal(click.id, 'featureLens.inspectNode');
    assert.deepEqual(click.args[0], { lens: lensPath, model: cnnPath, layer: 0, node: 2 });
  });

  it('caps a wide layer at NODE_CAP nodes and one "more" entry', () => {
    const r = roots();
    const [layer] = modelChildren(r[1], wide) as LayerEntry[];
    assert.equal(layer.layer.nodes, 600);
    const kids = layerChildren(layer);
    assert.equal(kids.length, NODE_CAP + 1);
    assert.equal(itemView(kids[NODE_CAP]).label, `… ${600 - NODE_CAP} more`);
    assert.equal(itemView(kids[NODE_CAP - 1]).label, `node ${NODE_CAP - 1}`);
    assert.equal(layerChildren(layer, 1000).length, 600);
  });

  it('getParent walks back to the root through unique ids (reveal needs both)', () => {
    const [lensEntry] = roots();
    const layers = modelChildren(lensEntry, cnn) as LayerEntry[];
    const node = layerChildren(layers[2])[1];
    const chain: ModelsEntry[] = [];
    for (let e: ModelsEntry | undefined = node; e; e = parentOf(e)) chain.push(e);
    assert.deepEqual(
      chain.map((e) => e.kind),
      ['node', 'layer', 'model'],
    );
    assert.equal(chain[2], lensEntry);
    const ids = [lensEntry, ...layers, ...layers.flatMap((l) => layerChildren(l))].map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(targetOf(node), { lens: lensPath, model: cnnPath, layer: 2, node: 1 });
  });

  it('top images are labelled "#index class" with the score as description', () => {
    const result = {
      layer: 0,
      node: 1,
      metric: 'frobenius' as const,
      top: [
        { index: 7, score: 12.5, label: 2 },
        { index: 3, score: 0.000123, label: 0 },
      ],
    };
    const items = imageEntries(result, lens, cnnPath).map(imageItemView);
    assert.deepEqual(
      items.map((i) => [i.label, i.description, i.contextValue]),
      [
        [`#7 ${lens.classes[2]}`, '12.50', 'image'],
        [`#3 ${lens.classes[0]}`, '1.230e-4', 'image'],
      ],
    );
    assert.deepEqual(lens.classes, ['E', 'F', 'L']);
    assert.deepEqual(items[0].command, { id: 'featureLens.showDeconvolution', args: [{ lens: lensPath, model: cnnPath, layer: 0, node: 1, image: 7 }] });
  });

  it('top-image icons are PNGs of the dataset images, at their size, reused once written', async () => {
    const out = path.join(dir, 'storage');
    const files = await thumbnails(lensPath, [5, 0], out);
    assert.equal(files.length, 2);
    const ds = await openDataset(await readLens(lensPath), 'test');
    const batch = await ds.gather([5, 0]);
    files.forEach((f, k) => {
      const png = PNG.sync.read(fs.readFileSync(f));
      assert.deepEqual([png.width, png.height], [20, 20]);
      let maxErr = 0;
      for (let p = 0; p < 400; p++) {
        const want = Math.round(255 * Math.min(1, Math.max(0, batch.images[k * 400 + p])));
        maxErr = Math.max(maxErr, Math.abs(png.data[p * 4] - want), Math.abs(png.data[p * 4 + 2] - want));
        assert.equal(png.data[p * 4 + 3], 255);
      }
      assert.equal(maxErr, 0);
    });
    const mtime = fs.statSync(files[0]).mtimeMs;
    const again = await thumbnails(lensPath, [5], out);
    assert.equal(again[0], files[0]);
    assert.equal(fs.statSync(again[0]).mtimeMs, mtime, 'an existing thumbnail is not rewritten');
    await assert.rejects(thumbnails(lensPath, [12], out), /out of range: the test split has 12 images/);
  });
});
