// The extension host is shared with every other extension: its bundle must not carry TensorFlow.js (all compute
// runs in the engine process), and the webview bundle must not either. Run `npm run build` first.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { BACKEND_SETTINGS, SCORE_METRIC_LABELS, SCORE_METRICS } from '../../src/shared/protocol';

const dist = path.join(__dirname, '..', '..', 'dist');
// Markers of tfjs's code itself (its source paths, kernel registry, error texts), not mere mentions in messages.
const TFJS = /require\(["']@tensorflow|tfjs-core\/dist|registerKernel\(|kernelRegistry|Tensor is disposed|Conv2DBackpropFilter/;

function read(name: string): string {
  const file = path.join(dist, name);
  assert.ok(fs.existsSync(file), `${file} is missing: run npm run build first`);
  return fs.readFileSync(file, 'utf8');
}

describe('bundles', () => {
  it('dist/extension.js contains no TensorFlow.js and stays small', () => {
    const src = read('extension.js');
    assert.doesNotMatch(src, TFJS);
    assert.ok(src.length < 1_000_000, `extension.js is ${src.length} bytes`);
    assert.match(src, /require\("vscode"\)/);
    assert.match(src, /featureLens\.inspectNode/);
  });

  it('dist/webview.js contains no TensorFlow.js and no Node modules', () => {
    const src = read('webview.js');
    assert.doesNotMatch(src, TFJS);
    assert.doesNotMatch(src, /require\("(vscode|node:|fs|child_process)/);
    assert.match(src, /acquireVsCodeApi/);
  });

  it('dist/engine.js does carry TensorFlow.js (the check above can fail)', () => {
    assert.match(read('engine.js'), TFJS);
  });
});

// The manifest against the UI contract: the end-to-end tests and users reach everything through these ids.
describe('package.json contributions', () => {
  const root = path.join(__dirname, '..', '..');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const nls: Record<string, string> = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8'));
  const text = (s: string) => (/^%.+%$/.test(s) ? nls[s.slice(1, -1)] : s);
  const CONTRACT: Record<string, string> = {
    'featureLens.trainModel': 'Train Model',
    'featureLens.openModel': 'Open Model',
    'featureLens.compareWith': 'Compare With…',
    'featureLens.inspectLayer': 'Inspect Layer',
    'featureLens.inspectNode': 'Inspect Node',
    'featureLens.computeTopActivations': 'Compute Top Activations',
    'featureLens.showDeconvolution': 'Show Deconvolution',
    'featureLens.maximizeActivation': 'Maximize Activation',
    'featureLens.showLayerActivationByClass': 'Show Layer Activation by Class',
    'featureLens.exportPanel': 'Export Panel as PNG',
    'featureLens.rankBy': 'Rank Top Images By…',
    'featureLens.selectBackend': 'Select Backend',
    'featureLens.showLog': 'Show Log',
    'featureLens.refreshModels': 'Refresh Models',
    'featureLens.openWalkthrough': 'Open Walkthrough',
    // Run by the walkthrough's buttons and the tree's problem rows (hidden from the palette).
    'featureLens.sample': 'Run a Walkthrough Step on a Sample',
    'featureLens.showProblem': 'Show Problem in Lens File',
  };

  it('every contract command exists with its title and the "Feature Lens" category, from package.nls.json', () => {
    const commands = pkg.contributes.commands as { command: string; title: string; category: string }[];
    assert.deepEqual(commands.map((c) => c.command).sort(), Object.keys(CONTRACT).sort());
    for (const c of commands) {
      assert.match(c.title, /^%.+%$/, `${c.command}'s title comes from package.nls.json`);
      assert.equal(text(c.title), CONTRACT[c.command], c.command);
      assert.equal(text(c.category), 'Feature Lens', c.command);
    }
  });

  it('every %key% used in package.json is defined in package.nls.json', () => {
    const keys = [...JSON.stringify(pkg).matchAll(/"%([^"%]+)%"/g)].map((m) => m[1]);
    assert.ok(keys.length > 20);
    for (const k of keys) assert.ok(typeof nls[k] === 'string' && nls[k].length > 0, `package.nls.json defines ${k}`);
  });

  it('the views and container of the contract exist, and menus name only real commands and context values', () => {
    assert.deepEqual(
      pkg.contributes.viewsContainers.activitybar.map((c: { id: string; title: string }) => [c.id, text(c.title)]),
      [['featureLens', 'Feature Lens']],
    );
    assert.deepEqual(
      pkg.contributes.views.featureLens.map((v: { id: string; name: string }) => [v.id, text(v.name)]),
      [
        ['featureLens.models', 'Models'],
        ['featureLens.topActivations', 'Top Activations'],
      ],
    );
    const ids = new Set(Object.keys(CONTRACT));
    for (const [menu, items] of Object.entries(pkg.contributes.menus as Record<string, { command: string; when?: string }[]>)) {
      for (const item of items) {
        assert.ok(ids.has(item.command), `${menu} names ${item.command}`);
        for (const m of (item.when ?? '').matchAll(/viewItem == (\w+)/g))
          assert.ok(['model', 'lens', 'layer', 'node', 'image'].includes(m[1]), `${menu}: viewItem ${m[1]}`);
      }
    }
    // Beyond the implicit events: the panel's restore, a workspace with lens files (the first-start walkthrough,
    // the Problems panel) and the languages whose training code gets layer hovers and CodeLens.
    assert.deepEqual(pkg.activationEvents, [
      'onWebviewPanel:featureLens.inspector',
      'workspaceContains:**/*.lens.json',
      'onLanguage:python',
      'onLanguage:typescript',
      'onLanguage:javascript',
      'onCustomEditor:featureLens.modelFile',
    ]);
    // Model files open in the read-only "Feature Lens Model" editor: by default for ONNX, Keras 3 and HDF5 files, through Open With… for model.json
    assert.deepEqual(
      pkg.contributes.customEditors.map((e: { viewType: string; priority: string; selector: { filenamePattern: string }[] }) => [
        e.viewType,
        e.priority,
        e.selector.map((s) => s.filenamePattern),
      ]),
      [
        ['featureLens.modelFile', 'default', ['*.onnx', '*.keras', '*.h5']],
        ['featureLens.modelFile', 'option', ['model.json']],
      ],
    );
    for (const c of ['featureLens.sample', 'featureLens.showProblem']) {
      assert.ok(
        pkg.contributes.menus.commandPalette.some((m: { command: string; when?: string }) => m.command === c && m.when === 'false'),
        `${c} is not in the palette`,
      );
    }
  });

  it('the settings offer exactly the values the code accepts', () => {
    const props = pkg.contributes.configuration.properties;
    assert.deepEqual(props['featureLens.engine.backend'].enum, [...BACKEND_SETTINGS]);
    const rankBy = props['featureLens.topActivations.rankBy'];
    assert.deepEqual(rankBy.enum, [...SCORE_METRICS]);
    assert.deepEqual(Object.keys(SCORE_METRIC_LABELS), [...SCORE_METRICS]);
    assert.equal(rankBy.default, 'frobenius');
    assert.equal(rankBy.enumDescriptions.length, SCORE_METRICS.length);
  });

  it('each walkthrough step is ticked by the context key its button sets on success, and names its sample', () => {
    const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
    for (const step of pkg.contributes.walkthroughs[0].steps) {
      const description = nls[step.description.slice(1, -1)];
      const m = /\(command:featureLens\.sample\?([^)]+)\)/.exec(description);
      assert.ok(m, `${step.id}: a button running featureLens.sample`);
      const [sample, action] = JSON.parse(decodeURIComponent(m[1])) as [string, string];
      assert.ok(['efl', 'mnist'].includes(sample) && ['open', 'train', 'inspect', 'scan'].includes(action), `${step.id}: ${sample} ${action}`);
      assert.deepEqual(step.completionEvents, [`onContext:featureLens.walkthrough.${sample}.${action}`], step.id);
    }
  });

  it('walkthrough media and the lens schema path are files the package ships', () => {
    for (const w of pkg.contributes.walkthroughs) for (const s of w.steps) assert.ok(fs.existsSync(path.join(root, s.media.markdown)), s.media.markdown);
    assert.deepEqual(pkg.contributes.jsonValidation, [{ fileMatch: '*.lens.json', url: './schemas/lens.schema.json' }]);
    const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
    for (const keep of ['!dist/*.js', '!dist/*.wasm', '!media/**', '!schemas/**', '!package.nls.json'])
      assert.ok(ignore.split('\n').includes(keep), `.vscodeignore keeps ${keep}`);
    assert.ok(ignore.split('\n').includes('dist/*.map'), 'source maps stay out of the package');
  });
});
