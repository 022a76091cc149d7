/**
 * What close() stops, in reverse order of start. Each part gets a bounded time, so one stuck part
 * cannot keep the sandbox (or the test that started it) from ending.
 */
import { errorMessage } from '../shared/errors';

/** The longest one part of the sandbox may take to stop before close() goes on without it. */
const CLOSE_STEP_TIMEOUT_MS = 10_000;

export class CloseStack {
  private readonly parts: Array<{ readonly what: string; readonly run: () => Promise<void> | void }> = [];
  /** The parts that did not stop in time (they may still hold resources). */
  readonly stuckParts: string[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** Registers how to stop a part just started. */
  onClose(what: string, run: () => Promise<void> | void): void {
    this.parts.push({ what, run });
  }

  async close(): Promise<void> {
    for (const { what, run } of this.parts.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), CLOSE_STEP_TIMEOUT_MS)));
      try {
        const outcome = await Promise.race([Promise.resolve(run()), stuck]);
        if (outcome === 'stuck') {
          this.stuckParts.push(what);
          this.log(`while stopping: ${what} did not stop within ${CLOSE_STEP_TIMEOUT_MS} ms; going on`);
        }
      } catch (error) {
        this.log(`while stopping ${what}: ${errorMessage(error)}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
