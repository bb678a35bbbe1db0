import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes files so that nothing is ever half-written: each goes to a temporary file beside its target,
 * and only when all are written are they renamed into place. If anything fails, the temporaries are removed
 * and the old files are untouched.
 */
export async function writeFilesAtomic(files: { path: string; data: string | Uint8Array }[]): Promise<void> {
  const temps: { tmp: string; target: string }[] = [];
  try {
    for (const f of files) {
      await fs.promises.mkdir(path.dirname(f.path), { recursive: true });
      const tmp = `${f.path}.${process.pid}.${Date.now().toString(36)}.tmp`;
      temps.push({ tmp, target: f.path });
      const fh = await fs.promises.open(tmp, 'w');
      try {
        await fh.writeFile(f.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    // Weight shards before model.json, so a reader never sees a manifest whose shards are old: callers list
    // the file that points at the others last.
    for (const t of temps) await fs.promises.rename(t.tmp, t.target);
  } catch (e) {
    await Promise.all(temps.map((t) => fs.promises.rm(t.tmp, { force: true })));
    throw e;
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await writeFilesAtomic([{ path: file, data }]);
}
