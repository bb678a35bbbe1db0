/** Runs the CLI in this process, as `feature-lens ... --json --backend wasm`, and returns its parsed result. */
import * as assert from 'node:assert/strict';
import { runCli } from '../../src/engine/cli/cli';

export async function cliJson(args: string[]): Promise<any> {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) =>
    typeof s === 'string' ? (out.push(s), true) : (write as (...a: unknown[]) => boolean)(s, ...rest)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await runCli([...args, '--json', '--backend', 'wasm']);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(code, 0, out.join(''));
  return JSON.parse(out.join('')).result;
}
