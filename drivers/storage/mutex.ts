// Serialises a driver's multi-step changes (check dependents, then remove; check, then create),
// so that concurrent calls for different objects cannot interleave between a check and its act.

export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}
