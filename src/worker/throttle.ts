// A trailing-edge throttle for the analysis process's progress messages: at most one per interval, and a step that
// arrives inside the interval is not dropped but held and sent when the interval ends (replaced by any newer step
// meanwhile). So "block 32 / 32" reaches the panel even when it comes right after "block 31 / 32", and the panel
// shows it while the head runs, instead of the step before it.
export interface Throttle<T> {
  /** Sends `value` now if the interval since the last send has passed, else holds it for the interval's end. */
  push(value: T): void;
  /** Drops a held value and its timer (the job ended). */
  stop(): void;
}

export function trailingThrottle<T>(send: (value: T) => void, intervalMs: number, now: () => number = Date.now): Throttle<T> {
  let last = -Infinity;
  let held: { value: T } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!held) return;
    const { value } = held;
    held = undefined;
    last = now();
    send(value);
  };
  return {
    push(value) {
      held = { value };
      const wait = last + intervalMs - now();
      if (wait <= 0) {
        if (timer) clearTimeout(timer);
        flush();
      } else {
        timer ??= setTimeout(flush, wait);
      }
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      held = undefined;
    },
  };
}
