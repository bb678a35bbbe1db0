/**
 * The engine's one door to TensorFlow.js: core with every gradient registered, and the Layers API.
 * Only files under src/engine import this (the extension host never loads tfjs).
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
