// Lens files: the samples parse; every mistake (unknown field, wrong type, missing file, bad recipe) is one
// clear message naming the lens file and the field; lensInfo lists every path the lens reads or writes, the
// splits and classes, and the last training results.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { encodeNpy } from '../../src/engine/datasets/npy';
import { UserError } from '../../src/engine/runtime/errors';
import { lensInfo, openDataset, parseLens, readLens } from '../../src/engine/lens/lens';

const root = path.resolve(__dirname, '../..');
let dir: string;
before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-lens-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const efl = {
  name: 'EFL',
  model: 'model/model.json',
  dataset: { format: 'efl', trainPerClass: 10, testPerClass: 4 },
  training: {
    architecture: [
      { type: 'flatten' },
      { type: 'dense', units: 2, activation: 'relu', useBias: false },
      { type: 'dense', units: 3, activation: 'softmax', useBias: false },
    ],
    epochs: 1,
  },
};

function write(name: string, json: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

/** Reads the lens and asserts one UserError naming the lens file and matching `re`; returns the message. */
async function lensError(name: string, json: unknown, re: RegExp): Promise<string> {
  const file = write(name, json);
  let msg = '';
  await assert.rejects(readLens(file), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    msg = e.message;
    assert.ok(msg.startsWith(file), `names the lens file: ${msg}`);
    assert.match(msg, re);
    return true;
  });
  console.log(msg);
  return msg;
}

/** A small JSON-schema (draft 7 subset) checker: enough for schemas/lens.schema.json. Returns the problems found. */
function validate(schema: Record<string, unknown>, value: unknown, rootSchema = schema, at = ''): string[] {
  if (typeof schema.$ref === 'string')
    return validate(
      schema.$ref
        .slice(2)
        .split('/')
        .reduce((o: any, k) => o[k], rootSchema),
      value,
      rootSchema,
      at,
    );
  const errs: string[] = [];
  if (schema.oneOf) {
    const ok = (schema.oneOf as Record<string, unknown>[]).filter((s) => validate(s, value, rootSchema, at).length === 0).length;
    if (ok !== 1) errs.push(`${at}: matches ${ok} of oneOf`);
    return errs;
  }
  if ('const' in schema && value !== schema.const) errs.push(`${at}: not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errs.push(`${at}: not in enum`);
  const t = schema.type as string | undefined;
  const typeOk =
    !t ||
    (t === 'integer'
      ? Number.isInteger(value)
      : t === 'array'
        ? Array.isArray(value)
        : t === 'object'
          ? !!value && typeof value === 'object' && !Array.isArray(value)
          : typeof value === t);
  if (!typeOk) return [...errs, `${at}: not ${t}`];
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${at}: < minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${at}: > maximum`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errs.push(`${at}: too short`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errs.push(`${at}: too long`);
    if (schema.items) value.forEach((v, i) => errs.push(...validate(schema.items as Record<string, unknown>, v, rootSchema, `${at}[${i}]`)));
  } else if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errs.push(`${at}.${r}: missing`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...validate(props[k], v, rootSchema, `${at}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${at}.${k}: unknown`);
    }
  }
  return errs;
}

describe('lens files', () => {
  it('the JSON schema accepts every sample and rejects an unknown field, a wrong type and a bad layer like the reader does', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(root, 'schemas/lens.schema.json'), 'utf8'));
    const samples = fs.readdirSync(path.join(root, 'samples'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.lens.json'));
    for (const l of samples) assert.deepEqual(validate(schema, JSON.parse(fs.readFileSync(path.join(root, 'samples', l), 'utf8'))), [], l);
    assert.deepEqual(validate(schema, efl), []);
    assert.deepEqual(validate(schema, { ...efl, dataset: { ...efl.dataset, noize: 1 } }), ['.dataset: matches 0 of oneOf']);
    assert.deepEqual(validate(schema, { ...efl, training: { ...efl.training, epochs: 'ten' } }), ['.training.epochs: not integer']);
    assert.equal(validate(schema, { ...efl, training: { ...efl.training, architecture: [{ type: 'dense', unit: 3 }] } }).length, 1);
    assert.deepEqual(validate(schema, { ...efl, modle: 'x' }), ['.modle: unknown']);
  });

  it('parses every sample lens file in samples/', () => {
    const lenses = fs.readdirSync(path.join(root, 'samples'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.lens.json'));
    assert.ok(lenses.length >= 4, `found ${lenses.join(', ')}`);
    for (const l of lenses) {
      const file = path.join(root, 'samples', l);
      const lens = parseLens(JSON.parse(fs.readFileSync(file, 'utf8')), file);
      // The PyTorch sample names the ONNX model its train.py exports; the others train their own from a recipe.
      if (lens.model.endsWith('.onnx')) {
        assert.equal(lens.training, undefined, `${l} has no recipe`);
        assert.ok(fs.existsSync(path.join(path.dirname(file), 'train.py')), `${l}: the train.py that makes the model is beside it`);
        continue;
      }
      assert.ok(lens.training, `${l} has a recipe`);
      assert.equal(lens.model, path.join(path.dirname(file), 'model/model.json'));
      assert.equal(lens.results, file.replace(/\.lens\.json$/, '.training.json'));
      // Descriptions are shown in the Models view: they cite the report, not project-internal names.
      assert.doesNotMatch(lens.description ?? '', /\bseed\b|seed's/i, `${l} description`);
      assert.match(lens.description ?? '', /Gulati et al\. \(2017\)/, `${l} description cites the report`);
    }
  });

  it('reports an unknown field, a wrong type, a missing field and bad JSON with the lens file and the field path', async () => {
    await lensError(
      'unknown.lens.json',
      { ...efl, dataset: { ...efl.dataset, noize: 0.3 } },
      /"dataset\.noize" is not a field Feature Lens knows here \(expected: format, size, trainPerClass/,
    );
    await lensError('top.lens.json', { ...efl, modle: 'x' }, /"modle" is not a field/);
    await lensError(
      'type.lens.json',
      { ...efl, training: { ...efl.training, epochs: 'ten' } },
      /"training\.epochs" must be a whole number ≥ 1 and ≤ 10000, not "ten"/,
    );
    await lensError(
      'layer.lens.json',
      { ...efl, training: { ...efl.training, architecture: [{ type: 'dense', unit: 3 }] } },
      /"training\.architecture\[0\]\.units" is missing/,
    );
    await lensError(
      'format.lens.json',
      { ...efl, dataset: { format: 'csv' } },
      /"dataset\.format" must be one of "idx", "npy", "imageFolder", "efl", not "csv"/,
    );
    await lensError('noname.lens.json', { model: 'm.json', dataset: efl.dataset }, /"name" is missing/);
    await lensError('json.lens.json', '{ "name": "x", ', /is not valid JSON/);
    await lensError('array.lens.json', [1, 2], /must hold a JSON object, not \[1,2\]/);
    await lensError(
      'softmax.lens.json',
      { ...efl, training: { ...efl.training, architecture: [{ type: 'flatten' }, { type: 'dense', units: 3 }] } },
      /must end with a dense layer with "activation": "softmax"/,
    );
  });

  it('names the missing data file and the lens file that points at it', async () => {
    const msg = await lensError(
      'missing.lens.json',
      {
        name: 'x',
        model: 'm/model.json',
        dataset: { format: 'idx', train: { images: 'no-such-images.idx', labels: 'l.idx' }, test: { images: 'a', labels: 'b' } },
      },
      /no-such-images\.idx \(named in the lens file's dataset\) does not exist/,
    );
    assert.ok(msg.includes(path.join(dir, 'no-such-images.idx')));
    await assert.rejects(readLens(path.join(dir, 'absent.lens.json')), /absent\.lens\.json: lens file not found/);
    assert.doesNotMatch(msg, /prepare-samples/, 'no hint about a script that is not there');
  });

  it('suggests preparing the sample data only for a sample lens of a checkout that has the script', async () => {
    const checkout = path.join(dir, 'checkout');
    const lensFile = path.join(checkout, 'samples', 'mnist', 'mnist.lens.json');
    fs.mkdirSync(path.dirname(lensFile), { recursive: true });
    fs.writeFileSync(
      lensFile,
      JSON.stringify({
        name: 'x',
        model: 'model/model.json',
        dataset: { format: 'npy', train: { images: 'data/ti.npy', labels: 'data/tl.npy' }, test: { images: 'data/si.npy', labels: 'data/sl.npy' } },
      }),
    );
    const message = async () =>
      readLens(lensFile).then(
        () => '',
        (e: Error) => e.message,
      );
    assert.match(await message(), /ti\.npy \(named in the lens file's dataset\) does not exist\.$/);
    fs.mkdirSync(path.join(checkout, 'scripts'));
    fs.writeFileSync(path.join(checkout, 'scripts', 'prepare-samples.mjs'), '');
    assert.match(await message(), /does not exist\. Run `node scripts\/prepare-samples\.mjs` in the Feature Lens checkout/);
  });

  it('lensInfo: paths, splits, classes, shape, and the last training results once written', async () => {
    const file = write('info.lens.json', {
      ...efl,
      description: 'letters',
      training: { ...efl.training, crossTest: { name: 'neg', dataset: { format: 'efl', negative: true } } },
    });
    const info = await lensInfo(file);
    assert.equal(info.name, 'EFL');
    assert.equal(info.description, 'letters');
    assert.deepEqual(info.splits, { train: 30, test: 12 });
    assert.deepEqual(info.classes, ['E', 'F', 'L']);
    assert.deepEqual(info.imageShape, [20, 20, 1]);
    assert.equal(info.datasetFormat, 'efl');
    assert.equal(info.modelExists, false);
    assert.equal(info.hasTraining, true);
    assert.equal(info.lastTraining, undefined);
    for (const p of [file, path.join(dir, 'model/model.json'), path.join(dir, 'info.training.json')]) assert.ok(info.paths.includes(p), `paths include ${p}`);
    assert.equal(info.trainingNote, undefined, 'never trained is not a problem');
    const results = path.join(dir, 'info.training.json');
    const good = {
      lens: file,
      model: path.join(dir, 'model/model.json'),
      backend: 'wasm',
      epochs: 1,
      trainImages: 30,
      testImages: 12,
      testAccuracy: 0.5,
      testError: 0.5,
      trainAccuracy: 0.6,
      confusion: [
        [2, 1, 1],
        [1, 2, 1],
        [1, 1, 2],
      ],
      classes: ['E', 'F', 'L'],
      history: [{ epoch: 1, loss: 1.1, accuracy: 0.6 }],
      seconds: 1,
      imagesPerSecond: 30,
    };
    fs.writeFileSync(results, JSON.stringify(good));
    const trained = await lensInfo(file);
    assert.equal(trained.lastTraining?.testError, 0.5);
    assert.equal(trained.trainingNote, undefined);
    fs.writeFileSync(results, JSON.stringify({ ...good, history: [{ epoch: 1, loss: NaN, accuracy: 0.3 }] }));
    assert.equal((await lensInfo(file)).lastTraining?.history[0].loss, null, 'a diverged epoch (NaN written as null) is still a training result');
    // An old or hand-edited results file is left out with a note naming it, instead of breaking the model page.
    for (const bad of [
      '{"testAccuracy": 0.5, "testError": 0.5}',
      JSON.stringify({ ...good, history: undefined }),
      JSON.stringify({ ...good, confusion: [[1, 'x']] }),
      JSON.stringify({ ...good, crossTests: [{ name: 'neg' }] }),
      '[1, 2]',
      'null',
      '{not json',
    ]) {
      fs.writeFileSync(results, bad);
      const r = await lensInfo(file);
      assert.equal(r.lastTraining, undefined, bad);
      assert.equal(r.trainingNote, `${results} is not a Feature Lens training result; training will not overwrite it: move it away, then train.`, bad);
    }

    const idxLens = write('idx.lens.json', {
      name: 'm',
      model: 'model.json',
      dataset: { format: 'idx', train: { images: 'd/ti', labels: 'd/tl' }, test: { images: 'd/si', labels: 'd/sl' } },
    });
    const parsed = parseLens(JSON.parse(fs.readFileSync(idxLens, 'utf8')), idxLens);
    assert.deepEqual(parsed.dataset, {
      format: 'idx',
      train: { images: path.join(dir, 'd/ti'), labels: path.join(dir, 'd/tl') },
      test: { images: path.join(dir, 'd/si'), labels: path.join(dir, 'd/sl') },
    });
  });

  it('dispatches npy and imageFolder datasets, with class names from the lens or the folders', async () => {
    fs.mkdirSync(path.join(dir, 'npy'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'npy/x.npy'), encodeNpy(new Float32Array(5 * 6 * 7), [5, 6, 7]));
    fs.writeFileSync(path.join(dir, 'npy/y.npy'), encodeNpy(Int32Array.of(0, 1, 1, 0, 1), [5]));
    fs.writeFileSync(path.join(dir, 'npy/tx.npy'), encodeNpy(new Uint8Array(2 * 6 * 7), [2, 6, 7]));
    fs.writeFileSync(path.join(dir, 'npy/ty.npy'), encodeNpy(Int32Array.of(1, 0), [2]));
    const npyLens = write('npy.lens.json', {
      name: 'n',
      model: 'm.json',
      dataset: {
        format: 'npy',
        train: { images: 'npy/x.npy', labels: 'npy/y.npy' },
        test: { images: 'npy/tx.npy', labels: 'npy/ty.npy' },
        classes: ['no', 'yes'],
      },
    });
    const n = await lensInfo(npyLens);
    assert.deepEqual([n.splits, n.classes, n.imageShape, n.datasetFormat], [{ train: 5, test: 2 }, ['no', 'yes'], [6, 7, 1], 'npy']);
    assert.ok(n.paths.includes(path.join(dir, 'npy/tx.npy')));

    const { PNG } = await import('pngjs');
    for (const c of ['cats', 'dogs']) {
      fs.mkdirSync(path.join(dir, 'pics', c), { recursive: true });
      for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, 'pics', c, `${i}.png`), PNG.sync.write(new PNG({ width: 3, height: 3 })));
    }
    const folderLens = write('pics.lens.json', {
      name: 'p',
      model: 'm.json',
      dataset: { format: 'imageFolder', root: 'pics', size: [5, 5], channels: 3, testFraction: 0.25, seed: 2 },
    });
    const f = await lensInfo(folderLens);
    assert.deepEqual([f.splits, f.classes, f.imageShape, f.datasetFormat], [{ train: 6, test: 2 }, ['cats', 'dogs'], [5, 5, 3], 'imageFolder']);
    assert.ok(f.paths.includes(path.join(dir, 'pics')));
  });

  it('caches opened datasets until the files change', async () => {
    const file = write('cache.lens.json', efl);
    const lens = await readLens(file);
    const a = await openDataset(lens, 'test');
    assert.equal(await openDataset(await readLens(file), 'test'), a);
    assert.notEqual(await openDataset(lens, 'train'), a);
  });
});
