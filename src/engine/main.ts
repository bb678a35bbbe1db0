#!/usr/bin/env node
/**
 * The engine's entry. Forked by the extension with FEATURE_LENS_SERVE=1 it serves RPC over the IPC channel;
 * run from a shell it is the `feature-lens` command line.
 */
import { ENGINE_ENV, type BackendSetting, type FromEngine } from '../shared/protocol';
import { currentWasmThreads, initBackend } from './runtime/backend';
import { runCli } from './cli/cli';
import { handlers } from './server/handlers';
import { nodeScoresKernel } from './kernels/nodeScores';
import { onNativeNote } from './native/forwardLayers';
import { EngineServer } from './server/server';
import * as tf from './runtime/tf';

/** Whether the backend still computes 1 + 1: after a WebAssembly trap its memory is gone and this throws. */
function backendComputes(): boolean {
  try {
    return tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).dataSync()[0]) === 2;
  } catch {
    return false;
  }
}

async function serve(): Promise<void> {
  const send = (msg: FromEngine) => process.send!(msg);
  const { backend, note } = await initBackend((process.env[ENGINE_ENV.backend] as BackendSetting) || 'auto');
  onNativeNote((message) => send({ type: 'log', level: 'info', message }));
  // After an engine fault the process exits once its reply is written (messages go out in order), with code 70.
  const server = new EngineServer(
    handlers,
    send,
    () => process.send!({ type: 'log', level: 'info', message: 'Engine exiting after a fault.' }, () => process.exit(70)),
    backendComputes,
  );
  process.on('message', (m) => server.receive(m));
  process.on('disconnect', () => process.exit(0));
  const status = await handlers.status({}, undefined as never);
  send({ type: 'ready', status: { ...status, backend, threads: currentWasmThreads(), ...(note ? { backendNote: note } : {}) } });
  // Scans still work without the node-score kernel (on tf ops), only slower: say so once, with the reason.
  const kernel = backend === 'wasm' ? nodeScoresKernel() : undefined;
  if (kernel && !kernel.ok)
    send({
      type: 'log',
      level: 'warn',
      message: `Scans compute node scores with TensorFlow.js ops, which is slower, because the node-score kernel is unavailable: ${kernel.why}.`,
    });
}

if (process.env[ENGINE_ENV.serve] === '1' && process.send) {
  serve().catch((e) => {
    process.send?.({ type: 'log', level: 'error', message: `Engine failed to start: ${(e as Error)?.stack ?? e}` });
    process.exit(1);
  });
} else {
  runCli(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
