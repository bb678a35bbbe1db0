// Code size is a lint rule (eslint.config.mjs, docs/architecture.md "Size"): in src/, a function over 80
// lines or a file over 300 lines without its note is an error of `npm run lint`.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const root = path.resolve(__dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

/** The size errors (and stale directives) ESLint reports for `code` as if it were the file `file`. */
async function sizeErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  assert.deepEqual(
    result.messages.filter((m) => m.fatal),
    [],
    `${file} did not parse`,
  );
  return result.messages
    .filter((m) => m.ruleId === 'max-lines-per-function' || m.ruleId === 'max-lines' || m.ruleId === null)
    .map((m) => `${m.line}: ${m.message}`);
}

/** `n` statements, one a line. */
const body = (n: number, indent = '  ') => Array.from({ length: n }, (_, i) => `${indent}total += ${i};`).join('\n');
/** A function declaration of exactly `lines` lines (its header and closing brace included). */
const functionOf = (lines: number) => `export function probe(): number {\n  let total = 0;\n${body(lines - 4)}\n  return total;\n}\n`;

test('a function of 81 lines in src/ is an error naming it; one of 80 lines is not', async () => {
  assert.deepEqual(await sizeErrors('src/engine/zzProbe.ts', functionOf(81)), ["1: Function 'probe' has too many lines (81). Maximum allowed is 80."]);
  assert.deepEqual(await sizeErrors('src/engine/zzProbe.ts', functionOf(80)), []);
});

test('methods, arrow functions, callbacks and immediately invoked functions count too', async () => {
  const method = `export class Probe {\n  run(): number {\n    let total = 0;\n${body(80, '    ')}\n    return total;\n  }\n}\n`;
  assert.deepEqual(await sizeErrors('src/extension/zzProbe.ts', method), ["2: Method 'run' has too many lines (84). Maximum allowed is 80."]);
  const arrow = `export const probe = (): number => {\n  let total = 0;\n${body(80)}\n  return total;\n};\n`;
  assert.deepEqual(await sizeErrors('src/webview/zzProbe.ts', arrow), ['1: Arrow function has too many lines (84). Maximum allowed is 80.']);
  const iife = `export const x = (() => {\n  let total = 0;\n${body(80)}\n  return total;\n})();\n`;
  assert.deepEqual(await sizeErrors('src/shared/zzProbe.ts', iife), ['1: Arrow function has too many lines (84). Maximum allowed is 80.']);
  const callback = `export const xs = [1].map((total) => {\n${body(80)}\n  return total;\n});\n`;
  assert.deepEqual(await sizeErrors('src/shared/zzProbe.ts', callback), ['1: Arrow function has too many lines (83). Maximum allowed is 80.']);
});

/** A file of `lines` lines of short functions (none too long), after `head`. */
function fileOf(lines: number, head = ''): string {
  const out = head ? head.split('\n') : [];
  for (let i = 0; out.length < lines; i++) out.push(`export const x${i} = ${i};`);
  return out.join('\n') + '\n';
}

test('a file of 301 lines in src/ is an error unless its note says why; 300 lines need none', async () => {
  assert.deepEqual(await sizeErrors('src/engine/models/zzProbe.ts', fileOf(301)), ['301: File has too many lines (301). Maximum allowed is 300.']);
  assert.deepEqual(await sizeErrors('src/engine/models/zzProbe.ts', fileOf(300)), []);
  const note = '/* eslint-disable max-lines -- Over 300 lines because it is a table of one entry per op. */';
  assert.deepEqual(await sizeErrors('src/engine/models/zzProbe.ts', fileOf(301, note)), []);
});

test('a note left on a file that is no longer over 300 lines is an error', async () => {
  const note = '/* eslint-disable max-lines -- Over 300 lines because it is a table of one entry per op. */';
  const errors = await sizeErrors('src/engine/models/zzProbe.ts', fileOf(120, note));
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0], /^1: Unused eslint-disable directive \(no problems were reported from 'max-lines'\)/);
});

test('the limits hold in src/ only: tests and scripts may be longer', async () => {
  assert.deepEqual(await sizeErrors('test/unit/zzProbe.ts', functionOf(200)), []);
  assert.deepEqual(await sizeErrors('test/unit/zzProbe.ts', fileOf(400)), []);
});

/** Every .ts file under `dir`, relative to the root. */
function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

test('in src/, the only lint directive is the note of a file over 300 lines, on its first line, saying why', () => {
  const note = /^\/\* eslint-disable max-lines -- Over 300 lines because \S.*\*\/$/;
  const wrong: string[] = [];
  let notes = 0;
  for (const file of tsFiles('src')) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      // ESLint reads a directive from any comment that starts with one of these words.
      if (!/(\/\/|\/\*)\s*(eslint-disable|eslint-enable|eslint\s|globals?\s|exported\s)/.test(line)) return;
      if (i === 0 && note.test(line)) notes++;
      else wrong.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(wrong, [], 'a directive in src/ other than the file-size note (no function may be exempted from its limit)');
  assert.ok(notes > 0, 'no note found: the check reads the wrong folder');
});
