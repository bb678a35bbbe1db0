// FileCache: the one cache of what was read from files, valid while a file keeps its time and size.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileCache } from '../../src/engine/runtime/fileCache';
import { readLens } from '../../src/engine/lens/lens';

test('a value is returned only for the stamp it was read with; the least recently used goes first', () => {
  const c = new FileCache<string>(2);
  c.set('/a', { mtimeMs: 1, size: 10 }, 'A');
  assert.equal(c.get('/a', { mtimeMs: 1, size: 10 }), 'A');
  assert.equal(c.get('/a', { mtimeMs: 2, size: 10 }), undefined, 'a new time');
  assert.equal(c.get('/a', { mtimeMs: 1, size: 11 }), undefined, 'a new size within the same time');
  assert.equal(c.get('/b', { mtimeMs: 1, size: 10 }), undefined);
  c.set('/b', { mtimeMs: 1, size: 1 }, 'B');
  assert.equal(c.get('/a', { mtimeMs: 1, size: 10 }), 'A'); // /a is now the most recently used
  assert.deepEqual(c.set('/c', { mtimeMs: 1, size: 1 }, 'C'), ['B']);
  assert.deepEqual([c.size, c.peek('/b'), c.peek('/a')], [2, undefined, 'A']);
  c.restamp('/a', { mtimeMs: 5, size: 10 });
  assert.equal(c.get('/a', { mtimeMs: 5, size: 10 }), 'A', 'touched by this process: still valid');
  assert.deepEqual(c.clear().sort(), ['A', 'C']);
  assert.equal(c.size, 0);
});

test('readLens reads a lens file again once it changed on disk, not before', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-filecache-'));
  try {
    const file = path.join(dir, 'a.lens.json');
    const write = (name: string) =>
      fs.writeFileSync(file, JSON.stringify({ name, model: 'model/model.json', dataset: { format: 'efl', testPerClass: 2, trainPerClass: 2 } }));
    write('first');
    const a = await readLens(file);
    assert.equal(a.name, 'first');
    assert.equal(await readLens(file), a, 'unchanged: the same object');
    write('second, longer');
    assert.equal((await readLens(file)).name, 'second, longer');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
