// The analysis processes (dist/worker.js) running under a process, found through Linux /proc, and holding them
// paused. A test that must see an analysis in flight (a status bar spinner, a cancel, a host that keeps answering)
// pauses the process that does the work (SIGSTOP) instead of counting on the machine to be slow enough: a fast
// machine finished 256 MiB of weight statistics before a test's next step, and CI failed.
import { readdirSync, readFileSync } from 'node:fs';

/** pid -> parent pid of every process (the parent is the 4th field of stat, after the command name in parentheses, which may itself hold spaces). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  return map;
}

/** The analysis processes among the descendants of `root` (its children, theirs, …). */
export function analysisProcessesUnder(root: number): number[] {
  const parent = parents();
  const isUnder = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter((pid) => {
    if (!isUnder(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker.js');
    } catch {
      return false;
    }
  });
}

/**
 * Pauses the analysis processes under `root` (at least one must be running, or this throws saying so) and returns
 * the function that resumes them; resuming twice, or a process that has since ended, is fine.
 */
export function holdAnalysis(root: number): () => void {
  const pids = analysisProcessesUnder(root);
  if (pids.length === 0) throw new Error(`no analysis process (worker.js) runs under process ${root}: nothing to hold`);
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Ended meanwhile (a cancelled job's process is replaced).
      }
    }
  };
}
