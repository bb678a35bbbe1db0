// `npm start` (after `npm run package`): opens the sample workspace with the packaged extension installed in a
// fresh extensions directory: in the desktop VS Code when `code` is on PATH, else in code-server served on
// 127.0.0.1 (the URL is printed). Runs until Ctrl-C (or until the desktop window closes).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureE2E, freePort, installExtension, QUIET_SETTINGS, SetupError, startCodeServer } from './setup-e2e.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vsix = path.join(root, 'dist', 'feature-lens.vsix');
const samples = path.join(root, 'samples');

function fail(message) {
  console.error(`start: ${message}`);
  process.exit(1);
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (!fs.existsSync(vsix)) fail(`${path.relative(root, vsix)} is missing: run \`npm start\` (it packages first) or \`npm run package\`.`);
if (fs.existsSync(path.join(root, 'scripts', 'prepare-samples.mjs'))) {
  console.log('start: preparing the sample data');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'prepare-samples.mjs')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) fail('preparing the sample data failed (scripts/prepare-samples.mjs, see above).');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-start-'));
const extensionsDir = path.join(tmp, 'extensions');
const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });

// A `code` that is code-server's own remote CLI (inside its terminal) would open the folder in that window.
if (onPath('code') && !process.env.VSCODE_IPC_HOOK_CLI) {
  const code = (args) => spawnSync('code', args, { stdio: 'inherit' });
  if (code(['--extensions-dir', extensionsDir, '--install-extension', vsix]).status !== 0) fail(`code --install-extension ${vsix} failed (see above).`);
  console.log(`start: opening ${samples} in VS Code with Feature Lens from ${vsix}; close the window to finish.`);
  const r = code(['--new-window', '--wait', '--extensions-dir', extensionsDir, samples]);
  cleanup();
  process.exit(r.status ?? 0);
}

let paths;
try {
  paths = ensureE2E({ say: (m) => console.log(`start: ${m}`) });
} catch (e) {
  fail(e instanceof SetupError ? `VS Code is not on PATH and code-server cannot be set up: ${e.message}` : String(e?.stack ?? e));
}
const userDataDir = path.join(tmp, 'user-data');
fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
// Quiet, except for Feature Lens's own first start: its view and its walkthrough open with the samples.
fs.writeFileSync(
  path.join(userDataDir, 'User', 'settings.json'),
  JSON.stringify({ ...QUIET_SETTINGS, 'featureLens.walkthrough.openOnFirstStart': true }, null, 2),
);
try {
  installExtension(paths.codeServer, extensionsDir, userDataDir, vsix);
} catch (e) {
  cleanup();
  fail(e.message);
}
const port = Number(process.env.PORT) || (await freePort());
const logFile = path.join(tmp, 'code-server.log');
const server = await startCodeServer({ codeServer: paths.codeServer, extensionsDir, userDataDir, workspace: samples, port, logFile }).catch((e) => {
  cleanup();
  fail(e.message);
});
console.log(
  `\nFeature Lens is running in code-server (VS Code in the browser):\n\n  http://127.0.0.1:${port}/?folder=${encodeURI(samples)}\n\nOpen that URL in a browser. Press Ctrl-C here to stop. (code-server log: ${logFile})`,
);

// startCodeServer does not keep the process alive by itself (tests exit without waiting for it); here it should.
server.child.ref();

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstart: stopping code-server');
  await server.stop();
  cleanup();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.child.once('exit', (code, signal) => {
  if (stopping) return;
  const tail = fs.existsSync(logFile)
    ? fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.length < 300)
        .slice(-15)
        .join('\n')
    : '';
  console.error(`${tail}\nstart: code-server stopped (${code ?? signal}).`);
  cleanup();
  process.exit(1);
});
