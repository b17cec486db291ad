// Wall time, CPU time and peak RSS of a child process, measured by GNU time (/usr/bin/time): the one helper the
// stats benches (stats.bench.ts, stats8b.bench.ts) time their commands with.
import { spawnSync } from 'node:child_process';

export interface Timed { seconds: number; cpuSeconds: number; peakMb: number; stdout: string }

/** Runs `command args` to the end; throws with its stderr when it fails. stdout is kept only when asked for. */
export function timed(command: string, args: string[], captureStdout = false): Timed {
  const run = spawnSync('/usr/bin/time', ['-f', 'BENCH-TIME %e %M %U %S', command, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr}`);
  const last = run.stderr.trimEnd().split('\n').pop() ?? '';
  const [tag, seconds, kb, user, sys] = last.split(' ');
  if (tag !== 'BENCH-TIME') throw new Error(`${command} ${args.join(' ')}: no timing in ${run.stderr}`);
  return { seconds: Number(seconds), cpuSeconds: Number(user) + Number(sys), peakMb: Number(kb) / 1024, stdout: run.stdout ?? '' };
}

/** The run with the least wall time of `runs`. */
export function best<T extends { seconds: number }>(runs: number, measure: () => T): T {
  let result = measure();
  for (let i = 1; i < runs; i++) {
    const next = measure();
    if (next.seconds < result.seconds) result = next;
  }
  return result;
}

/**
 * Milliseconds from `since` until process `pid` no longer exists, polled every 50 ms for up to `tries` polls; NaN
 * when it is still there (an analysis process kept for the next job, or one slow to end).
 */
export async function msUntilProcessGone(pid: number, since: number, tries: number): Promise<number> {
  for (let i = 0; i < tries; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return Date.now() - since;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return NaN;
}
