// A platform-specific VSIX: `node scripts/package-target.mjs linux-x64` builds for production with that
// platform's onnxruntime-node beside the engine bundle (esbuild.mjs --native) and packages it with
// `vsce package --target`, so the file carries only its own native binaries. `npm run package` makes the
// universal VSIX, which carries none and runs every forward pass on WebAssembly.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const target = process.argv[2] ?? `${process.platform}-${process.arch}`;
const targets = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
if (!targets.includes(target)) {
  console.error(`package-target: unknown target "${target}"; one of ${targets.join(', ')}.`);
  process.exit(2);
}
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, ['esbuild.mjs', '--production', `--native=${target}`]);
// .vscodeignore leaves dist/native out (the universal VSIX); this package takes its own target's folder.
const ignore = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-vsce-')), '.vscodeignore');
fs.writeFileSync(ignore, `${fs.readFileSync('.vscodeignore', 'utf8')}\n!dist/native/${target}/**\ndist/native/${target}/**/*.map\n`);
run(process.execPath, [
  'node_modules/@vscode/vsce/vsce',
  'package',
  '--no-dependencies',
  '--no-rewrite-relative-links',
  '--target',
  target,
  '--ignoreFile',
  ignore,
  '--out',
  `dist/feature-lens-${target}.vsix`,
]);
