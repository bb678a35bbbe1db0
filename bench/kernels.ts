/**
 * Images per second of training and inference on the wasm backend for the SMALL and BIG MNIST-shaped
 * nets, with only the kernels wasm lacks and with each of the project's speed kernels added.
 *
 *   node --import tsx bench/kernels.ts [--seconds 2] [--rounds 3] [--batch 64] [--nets small,big] [--modes missing,all]
 *
 * Modes: `missing` (only the kernels wasm lacks), `+<Kernel>` (that speed kernel added), `all`.
 * The modes take turns for `--rounds` rounds of `--seconds` each, so a busy machine slows them alike;
 * each figure is the median over all batches timed.
 *
 * SMALL = conv3×3(8)+relu+pool, conv3×3(16)+relu+pool, dense(10).
 * BIG   = conv5×5(32)+relu+pool, conv5×5(64)+relu+pool, dense(1024)+relu, dense(10).
 */
import { initBackend } from '../src/engine/runtime/backend';
import { registerWasmKernels, SPEED_KERNELS } from '../src/engine/kernels';
import * as tf from '../src/engine/runtime/tf';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const seconds = Number(opt('seconds', '2'));
const rounds = Number(opt('rounds', '3'));
const batch = Number(opt('batch', '64'));
const nets = opt('nets', 'small,big').split(',');
const speedNames = SPEED_KERNELS.map((k) => k.kernelName);
const allModes: Record<string, boolean | string[]> = { missing: false, ...Object.fromEntries(speedNames.map((n) => [`+${n}`, [n]])), all: true };
const modes = opt('modes', Object.keys(allModes).join(',')).split(',');

function build(net: string): tf.LayersModel {
  const big = net === 'big';
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: big ? 32 : 8, kernelSize: big ? 5 : 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: big ? 64 : 16, kernelSize: big ? 5 : 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  if (big) m.add(tf.layers.dense({ units: 1024, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10 }));
  m.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  return m;
}

/** Times `step` (one batch) for `seconds` after a warm-up, adding each batch's milliseconds to `times`. */
async function time(step: () => Promise<void> | void, times: number[]): Promise<void> {
  for (let i = 0; i < 2; i++) await step();
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end || n++ < 3) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
}

/** Images per second from the median batch time, and from the fastest (the least disturbed by other load). */
function rate(times: number[], n: number): string {
  const sorted = [...times].sort((a, b) => a - b);
  const ips = (ms: number) => Math.round((n / ms) * 1000);
  return `${ips(sorted[sorted.length >> 1])} (${ips(sorted[0])})`;
}

async function main(): Promise<void> {
  const { backend } = await initBackend('wasm');
  console.log(`backend ${backend}, training batch ${batch}, inference batch 256, ${rounds} rounds of ${seconds} s per figure`);
  const x = tf.randomUniform([batch, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10);
  const xi = tf.randomUniform([256, 28, 28, 1]);
  const rows: string[][] = [['net', 'kernels', 'train', 'infer']];
  console.log('images/second: median batch (fastest batch)');
  for (const net of nets) {
    const model = build(net);
    const train: Record<string, number[]> = {};
    const infer: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        registerWasmKernels({ speed: allModes[mode] });
        await time(async () => void (await model.trainOnBatch(x, y)), (train[mode] ??= []));
        await time(() => tf.tidy(() => void (model.predict(xi) as tf.Tensor).dataSync()), (infer[mode] ??= []));
      }
    }
    for (const mode of modes) {
      rows.push([net, mode, rate(train[mode], batch), rate(infer[mode], 256)]);
      console.log(rows[rows.length - 1].join('\t'));
    }
    model.dispose();
  }
  registerWasmKernels();
  console.log('\n' + rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(22) : c.padStart(16))).join('')).join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
