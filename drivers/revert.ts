// Undo stack for multi-step host changes (incus revert.go style):
//   const r = new Revert();
//   try { step1(); r.add(undo1); step2(); r.add(undo2); r.success(); } finally { await r.fail(); }
// fail() after success() does nothing; otherwise it runs the undos newest first. An undo that
// throws does not stop the others; the errors are returned (the original failure is what callers
// report; the reconciler converges whatever is left).

export type Undo = () => unknown;

export class Revert {
  private undos: Undo[] = [];
  private done = false;

  /** Registers the undo of a step that has just succeeded. */
  add(undo: Undo): void {
    if (this.done) throw new Error("Revert.add after success()/fail()");
    this.undos.push(undo);
  }

  /** The whole operation succeeded: forget the undos. */
  success(): void {
    this.done = true;
    this.undos = [];
  }

  /** Runs the registered undos newest first (once); returns the errors they threw. */
  async fail(): Promise<unknown[]> {
    if (this.done) return [];
    this.done = true;
    const undos = this.undos.reverse();
    this.undos = [];
    const errors: unknown[] = [];
    for (const undo of undos) {
      try {
        await undo();
      } catch (e) {
        errors.push(e);
      }
    }
    return errors;
  }

  /** Hands the pending undos to a new Revert (e.g. to keep them past this function) and forgets them here. */
  clone(): Revert {
    const r = new Revert();
    r.undos = this.undos;
    this.undos = [];
    this.done = true;
    return r;
  }
}

/** Runs `fn` with a fresh Revert; on a throw, runs the undos and rethrows the original error. */
export async function withRevert<T>(fn: (r: Revert) => Promise<T>): Promise<T> {
  const r = new Revert();
  try {
    const v = await fn(r);
    r.success();
    return v;
  } finally {
    await r.fail();
  }
}
