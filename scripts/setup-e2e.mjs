// Prepares what the end-to-end tests and `npm start` need: Debian's Chromium and a code-server build
// (VS Code 1.100 in the browser) installed from npm into a cache outside this package's node_modules.
// Idempotent: a marker file written last says the install finished; a half-finished one is redone.
// `node scripts/setup-e2e.mjs` runs it; `ensureE2E()` is the same for the tests and scripts/start.mjs.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
// The recipe's packages, plus the C++ toolchain node-gyp needs for code-server's native modules.
const APT_PACKAGES = ['libkrb5-dev', 'libx11-dev', 'libxkbfile-dev', 'libsecret-1-dev', 'pkg-config', 'ripgrep', 'chromium', 'build-essential', 'python3'];
const CHROMIUM = '/usr/bin/chromium';
const MARKER = '.feature-lens-installed';

/** A setup step that cannot be done here; the message is one line saying what is missing and how to get it. */
export class SetupError extends Error {}

/** The cache folder code-server is installed into (FEATURE_LENS_E2E_CACHE overrides). */
export function e2eCacheDir() {
  if (process.env.FEATURE_LENS_E2E_CACHE) return path.resolve(process.env.FEATURE_LENS_E2E_CACHE);
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'feature-lens', `code-server-${CODE_SERVER_VERSION}`);
}

function codeServerPaths(dir) {
  const pkg = path.join(dir, 'node_modules', 'code-server');
  return { pkg, bin: path.join(pkg, 'out', 'node', 'entry.js'), vscode: path.join(pkg, 'lib', 'vscode') };
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function missingDebianPackages() {
  if (!has('dpkg-query')) return APT_PACKAGES.filter((p) => (p === 'chromium' ? !fs.existsSync(CHROMIUM) : p === 'ripgrep' ? !has('rg') : false));
  return APT_PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

/** Runs a command with its output appended to the log; throws a one-line SetupError when it fails. */
function run(log, what, cmd, args, opts = {}) {
  fs.appendFileSync(log, `\n$ (cd ${opts.cwd ?? process.cwd()} && ${cmd} ${args.join(' ')})\n`);
  const fd = fs.openSync(log, 'a');
  try {
    const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
    if (r.error || r.status !== 0) {
      // The failing command's own output: its error code says most ("npm error code ECONNREFUSED").
      const all = fs.readFileSync(log, 'utf8').split('\n');
      const output = all.slice(all.findLastIndex((l) => l.startsWith('$ ')) + 1);
      const tail = output.find((l) => /npm error code|gyp ERR!|^E: /.test(l)) ?? output.find((l) => /err/i.test(l)) ?? '';
      throw new SetupError(`${what} failed${opts.hint ? ` (${opts.hint})` : ''}; see ${log}${tail ? `: ${tail.trim().slice(0, 200)}` : ''}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function ensureDebianPackages(log, say) {
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  const line = `apt-get install -y ${missing.join(' ')}`;
  if (!has('apt-get'))
    throw new SetupError(
      `missing system packages ${missing.join(', ')} and apt-get is not available: install their equivalents (Chromium at ${CHROMIUM}, ripgrep, X11/Kerberos/libsecret headers, pkg-config) with your package manager.`,
    );
  if (process.getuid?.() !== 0) throw new SetupError(`missing Debian packages ${missing.join(' ')}: run \`sudo ${line}\` (or run this script as root).`);
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  try {
    run(log, line, 'apt-get', ['install', '-y', ...missing], { env });
  } catch {
    run(log, 'apt-get update', 'apt-get', ['update'], { env });
    run(log, line, 'apt-get', ['install', '-y', ...missing], { env, hint: 'are the Debian package sources reachable?' });
  }
}

/** The recipe of /work/shared/environment.md, step by step, in `dir`. */
function installCodeServer(dir, log, say) {
  if (!has('npm')) throw new SetupError('npm is not on PATH: install Node.js 20 with npm (https://nodejs.org) and rerun.');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(log, `code-server ${CODE_SERVER_VERSION} install log, ${new Date().toISOString()}\n`);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'feature-lens-e2e-tools', private: true }, null, 2));
  const { pkg, vscode } = codeServerPaths(dir);
  const npmQuiet = ['--no-audit', '--no-fund', '--loglevel=error'];
  const hint = 'is the npm registry reachable?';
  say(`npm install code-server@${CODE_SERVER_VERSION} into ${dir}`);
  run(log, `npm install code-server@${CODE_SERVER_VERSION}`, 'npm', ['install', '--ignore-scripts', ...npmQuiet, `code-server@${CODE_SERVER_VERSION}`], {
    cwd: dir,
    hint,
  });
  say("installing VS Code's own modules");
  run(log, 'npm install in code-server/lib/vscode', 'npm', ['install', '--omit=dev', '--ignore-scripts', ...npmQuiet], { cwd: vscode, hint });
  const rgDir = path.join(vscode, 'node_modules', '@vscode', 'ripgrep', 'bin');
  fs.mkdirSync(rgDir, { recursive: true });
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  if (!rg) throw new SetupError('ripgrep (rg) is not on PATH: run `apt-get install -y ripgrep`.');
  fs.copyFileSync(rg, path.join(rgDir, 'rg'));
  fs.chmodSync(path.join(rgDir, 'rg'), 0o755);
  say('building native modules (node-gyp)');
  run(log, 'npm rebuild in code-server/lib/vscode', 'npm', ['rebuild', ...npmQuiet], {
    cwd: vscode,
    env: { npm_config_yes: 'true' },
    hint: 'a C++ toolchain (build-essential, python3) and the -dev packages are needed',
  });
  symlink('node_modules', path.join(vscode, 'node_modules.asar'));
  symlink('code-linux.sh', path.join(vscode, 'bin', 'remote-cli', 'code-server'));
  symlink('browser-linux.sh', path.join(vscode, 'bin', 'helpers', 'browser.sh'));
  say("installing the built-in extensions' modules");
  run(log, 'npm install in code-server/lib/vscode/extensions', 'npm', ['install', '--omit=dev', ...npmQuiet], { cwd: path.join(vscode, 'extensions'), hint });
  run(log, 'npm rebuild argon2', 'npm', ['rebuild', 'argon2', ...npmQuiet], { cwd: dir, hint: 'a C++ toolchain is needed' });
  if (!fs.existsSync(path.join(pkg, 'out', 'node', 'entry.js')))
    throw new SetupError(`code-server ${CODE_SERVER_VERSION} installed without its entry point; see ${log}`);
}

function symlink(target, at) {
  fs.rmSync(at, { force: true, recursive: false });
  fs.symlinkSync(target, at);
}

/** Settings that keep a fresh VS Code quiet: no welcome page, trust prompt, telemetry, update or tips. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  'editor.minimap.enabled': false,
  'files.hotExit': 'off',
  'window.restoreWindows': 'none',
  'workbench.editor.enablePreview': false,
  // Scenarios open what they test; the first-start walkthrough has its own (06-start, 08-walkthrough).
  'featureLens.walkthrough.openOnFirstStart': false,
};

// Process groups still running; killed if the test process exits abruptly.
const live = new Set();
process.on('exit', () => {
  for (const pid of live)
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Installs the VSIX into a fresh extensions directory with code-server's CLI. */
export function installExtension(codeServer, extensionsDir, userDataDir, vsix) {
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} is missing: run \`npm run package\` first.`);
  const r = spawnSync(process.execPath, [codeServer, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0 || !/successfully installed/i.test(r.stdout + r.stderr)) throw new Error(`installing ${vsix} failed: ${r.stdout}${r.stderr}`);
}

/**
 * Starts code-server in its own process group; resolves once it answers HTTP. Workspace Trust is off unless
 * `workspaceTrust` is set (then the folder opens in Restricted Mode until trusted).
 */
export async function startCodeServer({ codeServer, extensionsDir, userDataDir, workspace, port, logFile, workspaceTrust = false }) {
  // Its own config file, so nothing is written to the user's ~/.config/code-server.
  const args = [
    codeServer,
    '--config',
    path.join(userDataDir, 'code-server.yaml'),
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--extensions-dir',
    extensionsDir,
    '--user-data-dir',
    userDataDir,
    workspace,
  ];
  // Inside a VS Code terminal these would turn code-server into a client of that VS Code.
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_')) delete env[k];
  const out = logFile ? fs.openSync(logFile, 'a') : 'inherit';
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env });
  if (logFile) fs.closeSync(out);
  live.add(child.pid);
  // Not kept alive by the caller's event loop: its 'exit' handler above stops the group.
  child.unref();
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = code ?? signal;
    live.delete(child.pid);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`code-server exited (${exited}) before serving${logFile ? `; see ${logFile}` : ''}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on port ${port} within 60 s${logFile ? `; see ${logFile}` : ''}`);
    await sleep(250);
  }
  return {
    child,
    /** Stops code-server and everything it started (extension host, engine): the whole process group. */
    stop: async () => {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 40 && exited === null; i++) await sleep(100);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* all gone */
      }
      live.delete(child.pid);
    },
  };
}

/**
 * Makes sure Chromium and code-server are installed; returns their paths.
 * @returns {{ codeServer: string, chromium: string, dir: string, installed: boolean, seconds: number }}
 *   codeServer is a JS entry point: run it with `process.execPath`.
 */
export function ensureE2E({ say = () => {} } = {}) {
  const start = Date.now();
  const dir = e2eCacheDir();
  const log = `${dir}-install.log`;
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.accessSync(path.dirname(dir), fs.constants.W_OK);
  } catch {
    throw new SetupError(`cannot write to ${path.dirname(dir)}: set FEATURE_LENS_E2E_CACHE (or XDG_CACHE_HOME) to a writable folder.`);
  }
  ensureDebianPackages(log, say);
  if (!fs.existsSync(CHROMIUM)) throw new SetupError(`Chromium is not at ${CHROMIUM}: run \`apt-get install -y chromium\`.`);
  const { bin } = codeServerPaths(dir);
  let installed = false;
  if (!(fs.existsSync(path.join(dir, MARKER)) && fs.existsSync(bin))) {
    installCodeServer(dir, log, say);
    fs.writeFileSync(path.join(dir, MARKER), `${new Date().toISOString()}\n`);
    installed = true;
  }
  return { codeServer: bin, chromium: CHROMIUM, dir, installed, seconds: (Date.now() - start) / 1000 };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const r = ensureE2E({ say: (m) => console.log(`setup-e2e: ${m}`) });
    console.log(
      `setup-e2e: ${r.installed ? 'installed' : 'already installed:'} code-server ${CODE_SERVER_VERSION} at ${r.dir}, Chromium at ${r.chromium} (${r.seconds.toFixed(1)} s)`,
    );
  } catch (e) {
    console.error(`setup-e2e: ${e instanceof SetupError ? e.message : (e?.stack ?? e)}`);
    process.exit(1);
  }
}
