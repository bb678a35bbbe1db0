// Process helpers for tests that check the engine's helper processes, read from /proc.
import * as fs from 'node:fs';

/**
 * The direct children of `pid`, from /proc (no `ps`: a fresh machine may lack procps). Reads every thread's
 * `children` list, falling back to the PPid of every process when the kernel has no `children` files.
 */
export function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // the process itself is gone
  }
  const lists = tasks.map((t) => `/proc/${pid}/task/${t}/children`).filter((f) => fs.existsSync(f));
  if (lists.length) {
    return lists.flatMap((f) => {
      try {
        return fs.readFileSync(f, 'utf8').split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return []; // the thread exited since the listing: it has no children any more
      }
    });
  }
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => {
      try {
        return /^PPid:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] === String(pid);
      } catch {
        return false; // exited meanwhile
      }
    });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
