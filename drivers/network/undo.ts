// Undo stack for multi-step host changes (stand-in with the shape of drivers/revert.ts):
// add() one undo per step done; success() forgets them; revert() runs them newest first.

export class Undo {
  private steps: Array<() => Promise<unknown>> = [];

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  success(): void {
    this.steps = [];
  }

  /** Runs every registered undo, newest first; an undo that fails does not stop the others. */
  async revert(): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const s of steps) {
      try {
        await s();
      } catch {
        // best effort: the reconciler converges what is left on its next pass
      }
    }
  }
}
