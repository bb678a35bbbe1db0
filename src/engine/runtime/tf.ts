/**
 * The engine's one door to TensorFlow.js: core with every gradient registered, and the Layers API.
 * Only files under src/engine import this (the extension host never loads tfjs).
 */
export * from '@tensorflow/tfjs-core';
// After core: under plain Node, core's main entry is a bundle and this file loads a second copy of the tensor
// module. Loaded first, that copy's Tensor class (never given its op handler) became the global one and
// gradients calling `dy.clone()` (Cast, so average pooling) failed with "reading 'clone' of null".
import '@tensorflow/tfjs-core/dist/register_all_gradients';
export * from '@tensorflow/tfjs-layers';
