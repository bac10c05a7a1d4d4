/**
 * The items of `source`, with the next one's production started as soon as the current one is
 * handed out: while the consumer awaits something else (the training step on worker threads),
 * the next batch is read and decoded. Same items, same order; one item ahead at most.
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
