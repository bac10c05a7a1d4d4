/**
 * The items of `source`, with the next one's production started as soon as the current one is
 * handed out. An async generator's next() runs its body at once, up to its first await, so what
 * overlaps with the consumer's own awaits (the training step on worker threads, on the GPU) is
 * the production after the source's first read from disk; the rest is done before the current
 * item is handed out. Deferring all of it into the step measured worse on 2 cores with 2 workers
 * (BENCHMARKS.md, thirteenth session): a third busy thread slows both workers by more than it
 * saves. Same items, same order; one item ahead at most.
 */
export async function* prefetch<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let done = false;
  let next = it.next();
  // A failure of the item ahead surfaces when it is awaited; never as an unhandled rejection
  // if the consumer stops first.
  next.catch(() => {});
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        done = true;
        return;
      }
      next = it.next();
      next.catch(() => {});
      yield r.value;
    }
  } finally {
    if (!done) await it.return?.();
  }
}
