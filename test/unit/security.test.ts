// What a hostile or careless workspace cannot do: run script in the inspector webview (CSP, resource roots, checked
// messages), or have the engine read files outside the workspace through a lens file without the user's say
// (workspace guard), or train in Restricted Mode.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { lensInfo } from '../../src/engine/lens/lens';
import { lensPaths } from '../../src/engine/lens/lensPaths';
import { EngineClient } from '../../src/extension/engineClient';
import {
  LensGuard,
  confirmationText,
  createLensGuard,
  lensesOf,
  pathsOutside,
  realPath,
  requireTrust,
  type GuardHost,
} from '../../src/extension/workspaceGuard';
import type { EngineError } from '../../src/shared/protocol';
import { parseWebviewMessage, type MessageBounds } from '../../src/shared/webviewChecks';
import { mutateJson, rng } from './mutate';

const root = path.resolve(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------------------------
// A stand-in for the `vscode` module, enough for InspectorPanel to build its webview: it records what the panel asks.

class FakeUri {
  constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  static file(p: string): FakeUri {
    return new FakeUri('file', path.resolve(p));
  }
  static joinPath(base: FakeUri, ...parts: string[]): FakeUri {
    return new FakeUri(base.scheme, path.join(base.fsPath, ...parts));
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';
interface FakePanel {
  viewType: string;
  options: { enableScripts?: boolean; enableCommandUris?: boolean; enableForms?: boolean; localResourceRoots?: FakeUri[] };
  webview: {
    html: string;
    options: unknown;
    cspSource: string;
    asWebviewUri(u: FakeUri): string;
    onDidReceiveMessage(): { dispose(): void };
    postMessage(): Promise<boolean>;
  };
}
const panels: FakePanel[] = [];
const noop = () => ({ dispose() {} });
const fakeVscode = {
  Uri: FakeUri,
  ViewColumn: { Beside: -2, One: 1 },
  window: {
    createWebviewPanel(viewType: string, _title: string, _show: unknown, options: FakePanel['options']) {
      const p: FakePanel & Record<string, unknown> = {
        viewType,
        options,
        title: '',
        webview: {
          html: '',
          options,
          cspSource: CSP_SOURCE,
          asWebviewUri: (u: FakeUri) => `https://file+.vscode-resource.vscode-cdn.net${u.fsPath}`,
          onDidReceiveMessage: noop,
          postMessage: async () => true,
        },
        onDidDispose: noop,
        reveal() {},
        dispose() {},
      };
      panels.push(p);
      return p;
    },
  },
  commands: { executeCommand: async () => undefined },
  workspace: { workspaceFolders: undefined },
  CancellationError: class extends Error {},
};

function loadWithFakeVscode<T>(modulePath: string): T {
  const fake = path.join(__dirname, '__fake_vscode__.js');
  const m = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string };
  const resolve = m._resolveFilename;
  m._resolveFilename = function (req: string, ...rest: unknown[]) {
    return req === 'vscode' ? fake : resolve.call(this, req, ...rest);
  };
  require.cache[fake] = { id: fake, filename: fake, loaded: true, exports: fakeVscode } as unknown as NodeJS.Module;
  try {
    return require(modulePath) as T;
  } finally {
    m._resolveFilename = resolve;
  }
}

/** `directive -> sources` of a CSP string. */
function parseCsp(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, ...sources] = part.split(/\s+/);
    assert.ok(!out.has(name), `directive ${name} appears twice`);
    out.set(name, sources);
  }
  return out;
}

describe('inspector webview', () => {
  type PanelModule = typeof import('../../src/extension/inspectorPanel');
  let InspectorPanel: PanelModule['InspectorPanel'];
  const extensionUri = FakeUri.file(root);

  before(() => {
    ({ InspectorPanel } = loadWithFakeVscode<PanelModule>('../../src/extension/inspectorPanel'));
  });

  function open(): FakePanel {
    const deps = {
      engine: {} as never,
      jobs: {} as never,
      log: { info() {}, warn() {}, error() {}, debug() {} } as never,
      extensionUri: extensionUri as never,
      storageDir: async () => os.tmpdir(),
    };
    InspectorPanel.active?.dispose();
    InspectorPanel.show(deps, { page: 'model', model: path.join(root, 'samples', 'efl', 'model', 'model.json') });
    return panels[panels.length - 1];
  }

  it('allows no inline script, no eval and no remote origin', () => {
    const p = open();
    const html = p.webview.html;
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    assert.ok(meta, 'the page carries a CSP meta tag');
    assert.equal((html.match(/Content-Security-Policy/g) ?? []).length, 1, 'exactly one CSP');
    const csp = parseCsp(meta[1]);
    assert.deepEqual(csp.get('default-src'), ["'none'"], 'everything not listed is blocked');
    const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(csp.get('script-src')?.[0] ?? '');
    assert.ok(nonce && csp.get('script-src')!.length === 1, `script-src is one nonce: ${csp.get('script-src')}`);
    assert.ok(Buffer.from(nonce[1], 'base64').length >= 16, 'the nonce has at least 128 bits');
    for (const [name, sources] of csp) {
      for (const s of sources) {
        assert.ok(["'none'", CSP_SOURCE, 'blob:', 'data:'].includes(s) || s === `'nonce-${nonce[1]}'`, `${name} allows ${s}`);
        assert.doesNotMatch(s, /unsafe|\*|^https?:$|^http:/, `${name} allows ${s}`);
      }
    }
    assert.ok(!csp.has('connect-src') && !csp.has('frame-src') && !csp.has('object-src'), 'no fetches, frames or plugins');

    // Every script is external, from the extension, and carries the nonce; no inline handlers or styles.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1);
    for (const [, attrs, body] of scripts) {
      assert.equal(body.trim(), '', 'no inline script body');
      assert.match(attrs, new RegExp(`nonce="${nonce[1].replace(/[+/=]/g, (c) => `\\${c}`)}"`));
      assert.match(attrs, /src="https:\/\/file\+\.vscode-resource\.vscode-cdn\.net\//);
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /<style\b|\sstyle\s*=/i, 'no inline styles (style-src has no unsafe-inline)');
    assert.doesNotMatch(html, /javascript:/i);

    // A fresh nonce per page.
    const again = /'nonce-([^']+)'/.exec(open().webview.html)![1];
    assert.notEqual(again, nonce[1]);
  });

  it('loads only extension files, from resource roots limited to dist/ and media/', () => {
    const p = open();
    assert.equal(p.options.enableScripts, true);
    assert.ok(!p.options.enableCommandUris, 'command: links are off');
    assert.ok(!p.options.enableForms, 'forms are off');
    const roots = (p.options.localResourceRoots ?? []).map((u) => u.fsPath);
    assert.deepEqual(roots.sort(), [path.join(root, 'dist'), path.join(root, 'media')], 'no workspace folder, not the whole extension');
    const refs = [...p.webview.html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.length >= 3);
    for (const ref of refs) {
      assert.ok(ref.startsWith(CSP_SOURCE), `${ref} comes from the extension`);
      const file = ref.slice(CSP_SOURCE.length);
      assert.ok(
        roots.some((r) => file.startsWith(r + path.sep)),
        `${file} is under a resource root`,
      );
      assert.ok(fs.existsSync(file), `${file} exists (run npm run build first)`);
    }
  });
});

describe('webview code', () => {
  it('never turns data into markup or code (layer, class and file names come from the workspace)', () => {
    const dir = path.join(root, 'src', 'webview');
    // Every file, the page modules in pages/ included.
    const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    assert.ok(files.some((f) => f.startsWith(`pages${path.sep}`)) && files.length >= 8, files.join(', '));
    for (const f of files) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      assert.doesNotMatch(
        src,
        /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*['"]on/,
        `${f} builds markup or code from strings`,
      );
    }
  });
});

describe('webview messages', () => {
  const bounds: MessageBounds = { layers: 3, nodesPerLayer: [8, 0, 10], images: 100 };
  it('3000 mutated messages: never a throw, only known types with checked fields come through', () => {
    const r = rng(7);
    const seeds = [
      { type: 'ready' },
      { type: 'selectNode', layer: 2, node: 9 },
      { type: 'setMethod', method: 'guided' },
      { type: 'selectImage', index: 5 },
      { type: 'openPage', page: 'layer' },
      { type: 'log', level: 'info', message: 'x' },
      { type: 'painted', page: 'node' },
    ].map((m) => JSON.stringify(m));
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const text = mutateJson(seeds[i % seeds.length], r).text;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        raw = text;
      }
      const m = parseWebviewMessage(raw, bounds, () => {});
      if (!m) continue;
      accepted++;
      if (m.type === 'selectNode')
        assert.ok(
          Number.isInteger(m.layer) && m.layer >= 0 && m.layer < 3 && Number.isInteger(m.node) && m.node >= 0 && m.node < bounds.nodesPerLayer[m.layer],
          JSON.stringify(m),
        );
      if (m.type === 'selectImage') assert.ok(Number.isInteger(m.index) && m.index >= 0 && m.index < 100, JSON.stringify(m));
      if (m.type === 'log') assert.equal(typeof m.message, 'string');
      assert.ok(!Object.prototype.hasOwnProperty.call(m, '__proto__') && !('polluted' in ({} as object)), 'no prototype pollution');
    }
    assert.ok(accepted > 100, `some mutations stay valid (${accepted})`);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('paths outside the workspace', () => {
  let tmp: string;
  let ws: string;
  let outside: string;
  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fl-guard-')));
    ws = path.join(tmp, 'ws');
    outside = path.join(tmp, 'secret');
    fs.mkdirSync(path.join(ws, 'data'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'id_rsa'), 'key');
    fs.symlinkSync(outside, path.join(ws, 'linked'));
    fs.symlinkSync(path.join(outside, 'id_rsa'), path.join(ws, 'data', 'images.idx'));
    fs.symlinkSync(ws, path.join(tmp, 'ws-alias'));
    fs.mkdirSync(path.join(tmp, 'ws-evil'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds lexical escapes, symlinked files and folders, and prefix look-alikes', () => {
    const inside = [path.join(ws, 'a.lens.json'), path.join(ws, 'model', 'model.json'), path.join(ws, 'model'), path.join(ws, 'new', 'deep', 'x.bin')];
    const escapes = [
      path.join(ws, '..', 'secret', 'id_rsa'), // "../secret/id_rsa" in the lens file
      path.join(ws, 'linked', 'id_rsa'), // a folder symlink inside the workspace pointing out
      path.join(ws, 'linked', 'not-yet', 'model.json'), // not existing yet, under a symlink pointing out
      path.join(ws, 'data', 'images.idx'), // a file symlink pointing out
      path.join(tmp, 'ws-evil', 'x'), // shares the workspace's name as a prefix
      '/etc/passwd',
    ];
    assert.deepEqual(pathsOutside([ws], [...inside, ...escapes]), escapes);
    assert.deepEqual(pathsOutside([path.join(tmp, 'ws-alias')], inside), [], 'a workspace opened through a symlink');
    assert.deepEqual(pathsOutside([ws, outside], escapes.slice(0, 4)), [], 'a second workspace folder covers them');
    assert.deepEqual(pathsOutside([], [inside[0]]), [inside[0]], 'no folder open: everything is outside');
    assert.deepEqual(pathsOutside([ws], [inside[0], inside[0]]), [], 'duplicates collapse');
    assert.equal(realPath(path.join(ws, 'linked', 'not-yet', 'model.json')), path.join(outside, 'not-yet', 'model.json'));
  });

  it('follows a symlink loop without hanging', () => {
    fs.symlinkSync(path.join(ws, 'loop-b'), path.join(ws, 'loop-a'));
    fs.symlinkSync(path.join(ws, 'loop-a'), path.join(ws, 'loop-b'));
    assert.deepEqual(pathsOutside([ws], [path.join(ws, 'loop-a', 'x')]), []);
  });

  it('names every path (and where a symlink really points) in the question', () => {
    const t = confirmationText(path.join(ws, 'a.lens.json'), [path.join(ws, 'linked', 'id_rsa'), '/etc/passwd']);
    assert.match(t.message, /^a\.lens\.json uses files outside this workspace\. Allow Feature Lens to read them/);
    assert.ok(t.detail.includes(`${path.join(ws, 'linked', 'id_rsa')} (→ ${path.join(outside, 'id_rsa')})`), t.detail);
    assert.ok(t.detail.includes('/etc/passwd'));
  });
});

describe('lens guard', () => {
  function host(answers: boolean[], paths: Record<string, string[]>, state = new Map<string, unknown>()) {
    const asked: { lens: string; outside: string[] }[] = [];
    const stamps = new Map<string, string>();
    const h: GuardHost = {
      folders: () => ['/ws'],
      lensPaths: async (lens) => {
        await new Promise((r) => setTimeout(r, 5));
        return paths[lens];
      },
      confirm: async (lens, outside) => {
        asked.push({ lens, outside });
        await new Promise((r) => setTimeout(r, 5));
        return answers.shift() ?? false;
      },
      state: { get: ((k: string, d: unknown) => state.get(k) ?? d) as never, update: async (k: string, v: unknown) => void state.set(k, v) },
      stamp: async (lens) => stamps.get(lens) ?? 'v1',
      log: () => {},
    };
    return { h, asked, stamps, state };
  }
  const inside = { '/ws/a.lens.json': ['/ws/a.lens.json', '/ws/model/model.json', '/ws/data'] };
  const escaping = { '/ws/b.lens.json': ['/ws/b.lens.json', '/ws/model/model.json', '/home/user/.ssh'] };

  it('lets a lens whose paths stay inside through without asking', async () => {
    const { h, asked } = host([], inside);
    const g = new LensGuard(h);
    assert.equal(await g.check('lens', { lens: '/ws/a.lens.json' }), undefined);
    assert.equal(g.check('modelInfo', { model: '/elsewhere/model.json' }), undefined, 'requests without a lens pass at once');
    assert.equal(asked.length, 0);
  });

  it('asks once for many simultaneous requests, remembers "Allow" across sessions, and asks again when the lens names new paths', async () => {
    const { h, asked, stamps, state } = host([true], escaping);
    const g = new LensGuard(h);
    const all = await Promise.all([
      g.check('lens', { lens: '/ws/b.lens.json' }),
      g.check('scan', { lens: '/ws/b.lens.json', storageDir: '/s' }),
      g.check('featureMaps', { model: '/ws/model/model.json', layer: 0, input: { lens: '/ws/b.lens.json', index: 0 } }),
    ]);
    assert.deepEqual(all, [undefined, undefined, undefined]);
    assert.deepEqual(asked, [{ lens: '/ws/b.lens.json', outside: ['/home/user/.ssh'] }]);
    assert.equal(await g.check('lens', { lens: '/ws/b.lens.json' }), undefined);
    // A new window: the answer is in workspace state.
    const second = host([], escaping, state);
    assert.equal(await new LensGuard(second.h).check('train', { lens: '/ws/b.lens.json' }), undefined);
    assert.equal(second.asked.length, 0);
    // The lens file is edited to name one more outside path: ask again.
    escaping['/ws/b.lens.json'].push('/etc/shadow');
    stamps.set('/ws/b.lens.json', 'v2');
    const r = await g.check('lens', { lens: '/ws/b.lens.json' });
    assert.equal(asked.length, 2);
    assert.deepEqual(asked[1].outside, ['/home/user/.ssh', '/etc/shadow']);
    assert.match(r!.message, /names files outside the workspace \(\/home\/user\/\.ssh, \/etc\/shadow\), which you did not allow/);
    escaping['/ws/b.lens.json'].pop();
  });

  it('refuses with a message naming the lens and the paths, and asks again only after a refresh', async () => {
    const { h, asked } = host([false, false], escaping);
    const g = new LensGuard(h);
    const err = (await g.check('lens', { lens: '/ws/b.lens.json' })) as EngineError;
    assert.equal(err.code, 'badInput');
    assert.equal(err.file, '/ws/b.lens.json');
    assert.equal(
      err.message,
      '/ws/b.lens.json: names files outside the workspace (/home/user/.ssh), which you did not allow. Refresh the Models view to be asked again.',
    );
    assert.deepEqual(await g.check('datasetImage', { lens: '/ws/b.lens.json', index: 0 }), err, 'no second dialog in the same session');
    assert.equal(asked.length, 1);
    g.forgetRefusals();
    await g.check('lens', { lens: '/ws/b.lens.json' });
    assert.equal(asked.length, 2);
  });

  it('finds every lens in every request shape that names one', () => {
    assert.deepEqual(lensesOf('inspectNode', { lens: '/l', storageDir: '/s', layer: 0, node: 0 }), ['/l']);
    assert.deepEqual(lensesOf('project', { model: '/m', layer: 0, node: 0, input: { lens: '/l2', index: 1 }, method: 'deconv' }), ['/l2']);
    assert.deepEqual(lensesOf('project', { model: '/m', layer: 0, node: 0, input: { image: {} }, method: 'deconv' }), []);
    assert.deepEqual(lensesOf('compare', { lens: '/a', other: '/b' }), ['/a', '/b']);
    assert.deepEqual(lensesOf('lensPaths', { lens: '/l' }), [], 'the guard itself asks lensPaths');
  });

  it('checks the second lens of a comparison: a refused one refuses the request', async () => {
    const { h, asked } = host([false], { ...inside, ...escaping });
    const g = new LensGuard(h);
    const err = (await g.check('compare', { lens: '/ws/a.lens.json', other: '/ws/b.lens.json' })) as EngineError;
    assert.equal(err?.file, '/ws/b.lens.json', 'refused because of the second lens');
    assert.deepEqual(asked, [{ lens: '/ws/b.lens.json', outside: ['/home/user/.ssh'] }]);
  });
});

describe('Restricted Mode', () => {
  it('refuses to train with a reason and offers the trust editor; a trusted workspace trains', async () => {
    const shown: string[] = [];
    const ran: string[] = [];
    const api = (isTrusted: boolean, answer?: string) => ({
      window: { showWarningMessage: (async (m: string) => (shown.push(m), answer)) as never },
      workspace: { isTrusted },
      commands: { executeCommand: (async (id: string) => void ran.push(id)) as never },
    });
    assert.equal(await requireTrust(api(false, 'Manage Workspace Trust'), 'Training'), false);
    assert.equal(
      shown[0],
      'Feature Lens: Training is disabled in Restricted Mode, because it writes files into this workspace. Viewing models, layers and nodes still works. Trust the workspace to enable it.',
    );
    assert.deepEqual(ran, ['workbench.trust.manage']);
    assert.equal(await requireTrust(api(true), 'Training'), true);
    assert.equal(shown.length, 1);
  });

  it('package.json declares limited support and hides Train Model in untrusted workspaces', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.match(pkg.capabilities.untrustedWorkspaces.description, /does not train/);
    const menus = Object.values(pkg.contributes.menus as Record<string, { command: string; when?: string }[]>).flat();
    const train = menus.filter((m) => m.command === 'featureLens.trainModel');
    assert.ok(train.length >= 4);
    for (const m of train) assert.match(m.when ?? '', /isWorkspaceTrusted/, JSON.stringify(m));
    const palette = pkg.contributes.menus.commandPalette as { command: string; when?: string }[];
    assert.ok(palette.some((m) => m.command === 'featureLens.trainModel' && m.when === 'isWorkspaceTrusted'));
  });
});

describe('engine client gate', () => {
  const enginePath = path.join(root, 'dist', 'engine.js');
  let client: EngineClient;
  after(() => client?.dispose());

  it('answers a refused request from the gate without reaching the engine, and keeps request order', async () => {
    assert.ok(fs.existsSync(enginePath), 'run npm run build first');
    const seen: string[] = [];
    client = new EngineClient({
      enginePath,
      backend: () => 'cpu',
      log: () => {},
      gate: (method, params) => {
        seen.push(method);
        const [lens] = lensesOf(method, params);
        if (!lens) return undefined;
        return new Promise((r) => setTimeout(() => r(lens.includes('evil') ? { code: 'badInput', message: `${lens}: refused`, file: lens } : undefined), 20));
      },
    });
    const order: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const req =
          i % 3 === 0
            ? client.request('datasetImage', { lens: `/nowhere/evil${i}.lens.json`, index: 0 })
            : i % 3 === 1
              ? client.request('status', {})
              : client.request('datasetImage', { lens: `/nowhere/x${i}.lens.json`, index: 0 });
        return req.then((r) => (order.push(i), r));
      }),
    );
    // Refused requests are answered at once; the ones that reach the engine are answered in request order.
    const reached = order.filter((i) => i % 3 !== 0);
    assert.deepEqual(
      reached,
      [...reached].sort((a, b) => a - b),
      'engine replies in request order, gated or not',
    );
    assert.equal(order.length, 30);
    for (const [i, r] of results.entries()) {
      if (i % 3 === 0) assert.deepEqual(r, { err: { code: 'badInput', message: `/nowhere/evil${i}.lens.json: refused`, file: `/nowhere/evil${i}.lens.json` } });
      else if (i % 3 === 1) assert.ok('ok' in r);
      else assert.ok('err' in r && r.err.code === 'notFound' && r.err.message.includes(`/nowhere/x${i}.lens.json`), JSON.stringify(r));
    }
    assert.equal(seen.length, 30);
  });
});

describe('lens paths, from the engine', () => {
  let tmp: string;
  let ws: string;
  before(async () => {
    await initBackend('cpu');
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fl-lenspaths-')));
    ws = path.join(tmp, 'ws');
    fs.mkdirSync(ws);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('lists every path a lens names without opening any, the same list lensInfo gives', async () => {
    const lens = path.join(ws, 'out.lens.json');
    const dataset = {
      format: 'idx',
      train: { images: '../secret/train-images.idx', labels: 'data/train-labels.idx' },
      test: { images: '/nonexistent/t10k-images.idx', labels: 'data/t10k-labels.idx' },
    };
    fs.writeFileSync(lens, JSON.stringify({ name: 'out', model: '../models/m/model.json', dataset }));
    // None of these files exist: reading any would fail.
    const paths = await lensPaths(lens);
    assert.deepEqual(paths, [
      lens,
      path.join(tmp, 'models', 'm', 'model.json'),
      path.join(tmp, 'models', 'm'),
      path.join(ws, 'out.training.json'),
      path.join(tmp, 'secret', 'train-images.idx'),
      path.join(ws, 'data', 'train-labels.idx'),
      '/nonexistent/t10k-images.idx',
      path.join(ws, 'data', 't10k-labels.idx'),
    ]);
    assert.deepEqual(pathsOutside([ws], paths), [
      path.join(tmp, 'models', 'm', 'model.json'),
      path.join(tmp, 'models', 'm'),
      path.join(tmp, 'secret', 'train-images.idx'),
      '/nonexistent/t10k-images.idx',
    ]);

    const efl = path.join(ws, 'efl.lens.json');
    fs.writeFileSync(efl, JSON.stringify({ name: 'efl', model: 'model/model.json', dataset: { format: 'efl', testPerClass: 2, trainPerClass: 2 } }));
    assert.deepEqual(await lensPaths(efl), (await lensInfo(efl)).paths);
  });

  it('through the engine: the guard asks before anything is read, and a refusal is the only answer', { timeout: 60_000 }, async () => {
    const enginePath = path.join(root, 'dist', 'engine.js');
    const lens = path.join(ws, 'escape.lens.json');
    fs.writeFileSync(
      lens,
      JSON.stringify({ name: 'escape', model: 'model/model.json', dataset: { format: 'imageFolder', root: '../photos', size: [8, 8], channels: 1 } }),
    );
    const asked: string[][] = [];
    let answer = false;
    let guard: LensGuard | undefined;
    const client = new EngineClient({ enginePath, backend: () => 'cpu', log: () => {}, gate: (m, p) => guard!.check(m, p) });
    guard = new LensGuard({
      folders: () => [ws],
      lensPaths: async (l) => {
        const r = await client.requestUngated('lensPaths', { lens: l });
        if ('err' in r) throw new Error(r.err.message);
        return r.ok;
      },
      confirm: async (_l, outside) => (asked.push(outside), answer),
      state: { get: ((_k: string, d: unknown) => d) as never, update: async () => {} },
      stamp: async (l) => String(fs.statSync(l).mtimeMs),
      log: () => {},
    });
    try {
      const refused = await client.request('lens', { lens });
      assert.deepEqual(asked, [[path.join(tmp, 'photos')]]);
      assert.ok(
        'err' in refused && /names files outside the workspace \(.*photos\), which you did not allow/.test(refused.err.message),
        JSON.stringify(refused),
      );
      // Allowed after a refresh: now the engine opens the folder (which does not exist, so it says so).
      guard.forgetRefusals();
      answer = true;
      const allowed = await client.request('lens', { lens });
      assert.equal(asked.length, 2);
      // (a lens whose data is missing still describes its model, with the dataset's problem beside it)
      assert.ok(
        'ok' in allowed && /Dataset file .*photos does not exist \(the lens file's "dataset\.root"\)/.test(allowed.ok.datasetError?.message ?? ''),
        JSON.stringify(allowed),
      );
    } finally {
      client.dispose();
    }
  });
});

describe('lens guard, vscode side', () => {
  it('asks with a modal warning whose only action is Allow, once per lens, and remembers it in workspace state', async () => {
    const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fl-guardvs-')));
    try {
      const ws = path.join(tmp, 'ws');
      fs.mkdirSync(ws);
      const lens = path.join(ws, 'a.lens.json');
      fs.writeFileSync(lens, '{}');
      const calls: unknown[][] = [];
      const stored = new Map<string, unknown>();
      const api = {
        window: { showWarningMessage: (async (...args: unknown[]) => (calls.push(args), 'Allow')) as never },
        workspace: { workspaceFolders: [{ uri: { scheme: 'file', fsPath: ws } }, { uri: { scheme: 'vscode-vfs', fsPath: '/' } }] as never },
      };
      const state = {
        get: (k: string, d?: unknown) => stored.get(k) ?? d,
        update: async (k: string, v: unknown) => void stored.set(k, v),
        keys: () => [...stored.keys()],
      };
      const g = createLensGuard(
        api,
        state as never,
        async () => [lens, path.join(tmp, 'data')],
        () => {},
      );
      assert.equal(await g.check('lens', { lens }), undefined);
      assert.equal(await g.check('scan', { lens, storageDir: '/s' }), undefined);
      assert.equal(calls.length, 1);
      const [message, options, ...actions] = calls[0] as [string, { modal: boolean; detail: string }, ...string[]];
      assert.equal(message, 'a.lens.json uses files outside this workspace. Allow Feature Lens to read them (and training to write its model there)?');
      assert.equal(options.modal, true);
      assert.ok(options.detail.includes(path.join(tmp, 'data')));
      assert.deepEqual(actions, ['Allow'], 'Cancel is the modal dialog button');
      assert.deepEqual(stored.get('featureLens.outsidePathsAllowed'), { [lens]: [path.join(tmp, 'data')] });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
