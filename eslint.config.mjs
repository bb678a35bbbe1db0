// ESLint (flat config): the recommended JavaScript and TypeScript rules, and the folder boundaries of src/
// (docs/architecture.md, "Who may import whom") as a rule, so a wrong import fails `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const root = path.dirname(new URL(import.meta.url).pathname);
const src = path.join(root, 'src');
const nodeBuiltin = (s) => s.startsWith('node:') || builtinModules.includes(s.split('/')[0]);

/**
 * Who may import whom. For each part of src/: the other parts it must not import (resolved from the
 * importing file, so `../engine/tf` and `../../engine` are caught wherever they are written), and the
 * packages it must not import, with the reason shown in the error.
 */
const boundaries = {
  shared: {
    folders: ['engine', 'extension', 'webview'],
    package: () => 'src/shared holds plain types and pure functions used by every process: it imports nothing outside src/shared',
  },
  extension: {
    folders: ['engine', 'webview'],
    package: (s) =>
      s.startsWith('@tensorflow/')
        ? 'the extension host never loads TensorFlow.js: compute runs in the engine process (ask it through engineClient)'
        : undefined,
  },
  webview: {
    folders: ['engine', 'extension'],
    package: (s) =>
      s === 'vscode'
        ? 'the webview has no vscode API: it talks to the host by messages (src/shared/webviewProtocol.ts)'
        : nodeBuiltin(s)
          ? 'the webview runs in a browser: no Node modules'
          : s.startsWith('@tensorflow/')
            ? 'the webview never loads TensorFlow.js: it draws the plain data the engine computed'
            : undefined,
  },
  engine: {
    folders: ['extension', 'webview'],
    package: (s) => (s === 'vscode' ? 'the engine is a plain Node process (also the CLI): no vscode API' : undefined),
  },
};

/**
 * Inside the engine, its rooms (docs/architecture.md, "The engine's rooms") and the rooms each must not
 * import, so that the layers stay one-way: the runtime and kernels at the bottom, datasets and models on
 * them, the methods on models, the scan on methods, models and lens, the server and the CLI on top (page
 * requests in the server reuse the CLI's node index). A file at src/engine's root (main.ts) may
 * import any room.
 */
const ABOVE_MODELS = ['methods', 'scan', 'lens', 'training', 'server', 'cli'];
const engineRooms = {
  runtime: { not: ['datasets', 'models', 'native', 'png', ...ABOVE_MODELS], why: 'the runtime is the plumbing every room uses: it knows no room above it' },
  kernels: { not: ['datasets', 'models', 'native', 'png', ...ABOVE_MODELS], why: 'kernels are backend ops: they know no room above the runtime' },
  datasets: { not: ['models', 'native', 'png', ...ABOVE_MODELS], why: 'datasets read image files: they know no model, method or scan' },
  png: { not: ['datasets', 'models', 'native', ...ABOVE_MODELS], why: 'png draws plain arrays into PNG files: it knows no model, method or scan' },
  models: { not: ['native', 'png', ...ABOVE_MODELS], why: 'an importer never knows the methods, the scan or who asks' },
  native: { not: ['png', ...ABOVE_MODELS], why: 'the native path runs a network: it knows no method, scan or request' },
  methods: {
    not: ['png', 'scan', 'lens', 'training', 'server', 'cli'],
    why: 'a method is a function of (network, images, options): it never reads lens files, the scan, or who asks',
  },
  lens: { not: ['methods', 'scan', 'server', 'cli'], why: 'a lens file names a model and data: it knows no method, scan or request' },
  training: { not: ['methods', 'scan', 'server', 'cli'], why: 'training knows no inspection method, scan or request' },
  scan: { not: ['training', 'server', 'cli'], why: 'the scan knows no training and no one who asks for it' },
};

/** The room of src/engine a path is in (its first folder there), or undefined for files at its root and elsewhere. */
function engineRoom(file) {
  const rel = path.relative(path.join(src, 'engine'), file).split(path.sep);
  return rel.length > 1 && rel[0] !== '..' ? rel[0] : undefined;
}

/** The part of src/ a file is in (shared, extension, webview, engine), or undefined. */
function partOf(file) {
  const rel = path.relative(src, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const part = rel.split(path.sep)[0];
  return part in boundaries ? part : undefined;
}

const boundariesRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforces who may import whom between src/shared, src/extension, src/webview and src/engine, and between the rooms of src/engine.' },
    schema: [],
    messages: { forbidden: "src/{{part}} must not import '{{source}}': {{why}}." },
  },
  create(context) {
    const file = context.filename;
    const part = partOf(file);
    if (!part) return {};
    const rule = boundaries[part];
    function check(node, source) {
      if (typeof source !== 'string') return;
      let why;
      if (source.startsWith('.') || source.startsWith('/')) {
        const target = path.resolve(path.dirname(file), source);
        const targetPart = path.relative(src, target).split(path.sep)[0];
        const outside = path.relative(path.join(src, part), target).startsWith('..');
        const fromRoom = part === 'engine' ? engineRoom(file) : undefined;
        const toRoom = fromRoom ? engineRoom(target) : undefined;
        if (rule.folders.includes(targetPart)) why = `src/${targetPart} belongs to another process`;
        else if (part === 'shared' && outside) why = 'src/shared imports nothing outside src/shared';
        else if (toRoom && engineRooms[fromRoom]?.not.includes(toRoom))
          why = `src/engine/${fromRoom}/ must not import src/engine/${toRoom}/ (${engineRooms[fromRoom].why})`;
      } else {
        why = rule.package(source);
      }
      if (why) context.report({ node, messageId: 'forbidden', data: { part, source, why } });
    }
    const literal = (n) => (n && n.type === 'Literal' ? n.value : n && n.type === 'TSLiteralType' ? n.literal.value : undefined);
    return {
      ImportDeclaration: (n) => check(n.source, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n.source, n.source.value),
      ExportAllDeclaration: (n) => check(n.source, n.source.value),
      ImportExpression: (n) => check(n.source, literal(n.source)),
      TSImportType: (n) => check(n.argument, literal(n.argument)),
      TSExternalModuleReference: (n) => check(n.expression, literal(n.expression)),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments.length === 1) check(n.arguments[0], literal(n.arguments[0]));
      },
    };
  },
};

/** Node's globals, for the plain JavaScript scripts (TypeScript checks the .ts files' names itself). */
const nodeGlobals = Object.fromEntries(
  Object.getOwnPropertyNames(globalThis)
    .filter((n) => /^[A-Za-z_$][\w$]*$/.test(n))
    .map((n) => [n, 'readonly']),
);
/** The browser names the end-to-end tests use inside `page.evaluate` / `frame.evaluate` callbacks. */
const pageGlobals = Object.fromEntries(
  ['document', 'window', 'getComputedStyle', 'HTMLCanvasElement', 'HTMLElement', 'HTMLImageElement', 'MutationObserver', 'requestAnimationFrame'].map((n) => [
    n,
    'readonly',
  ]),
);

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'node_modules/', 'test-results/', 'samples/', '.vscode-test/', 'bench/results/', 'bench/.work/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'feature-lens': { rules: { boundaries: boundariesRule } } },
    rules: {
      'feature-lens/boundaries': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Left out on purpose: optional and lazily loaded modules (tfjs-node, the wasm backend's threaded
      // build) are loaded with require(); names read from files are cleaned of control characters by regex;
      // comma sequences (`a(), b()`) are used as statements; no-useless-assignment misreads try/catch flows.
      '@typescript-eslint/no-require-imports': 'off',
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
      'no-useless-assignment': 'off',
      // A closure that reads a variable assigned just after it (a callback given to the object it names).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  { files: ['**/*.ts'], rules: { 'no-undef': 'off' } },
  // Code size (docs/architecture.md, "Size"): a function of src/ fits on a screen or two; a file over 300
  // lines says why at its top, in the directive that allows it: `/* eslint-disable max-lines -- Over 300
  // lines because … */` (a directive left once the file is shorter is an error too).
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, IIFEs: true }],
      'max-lines': ['error', { max: 300 }],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: nodeGlobals } },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, require: 'readonly', module: 'writable', __dirname: 'readonly' } },
  },
  { files: ['test/e2e/**', 'bench/panelLatency.mjs'], languageOptions: { globals: { ...nodeGlobals, ...pageGlobals } } },
  // Tests feed deliberately malformed values through `any`.
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
