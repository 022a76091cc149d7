/**
 * The sandbox's rollouts, one at a time: a request is planned at once (a refusal writes nothing),
 * then runs in the background; its progress (phase and one line per thing done) is what the
 * sandbox state shows and `vmss-mesh sandbox rollout` prints. Closing stops a running rollout at
 * its next wait.
 */
import { errorMessage } from '../shared/errors';
import { imageOf, planRollout, RolloutRefused, runRollout, type RolloutContext, type RolloutOptions, type RolloutPlan, type RolloutRequest, type RolloutStepResult } from './rollout';
import type { SandboxRollout } from './sandbox-state';

export class SandboxRollouts {
  private last: SandboxRollout | undefined;
  private running: Promise<void> | undefined;
  private readonly stop = new AbortController();

  constructor(
    private readonly ctx: RolloutContext,
    /** A line for the sandbox's timeline. */
    private readonly note: (line: string) => void,
  ) {}

  /** The running or last rollout. */
  current(): SandboxRollout | undefined {
    return this.last;
  }

  /** Plans and starts a rollout; throws RolloutRefused (nothing written) when it cannot run. `run` settles when it ends. */
  start(request: RolloutRequest, options: RolloutOptions = {}): { readonly plan: RolloutPlan; readonly run: Promise<RolloutStepResult[]> } {
    if (this.stop.signal.aborted) throw new RolloutRefused('the sandbox is closing');
    const previous = this.last;
    if (this.running && previous) throw new RolloutRefused(`rollout ${previous.id} (${previous.from} → ${previous.to}) is still running (${previous.phase}); wait for it to end`);
    const plan = planRollout(this.ctx, request);
    const id = (previous?.id ?? 0) + 1;
    let status: SandboxRollout = { id, service: plan.service, from: plan.from.name, to: plan.to, image: imageOf(plan), steps: plan.steps, phase: 'creating', lines: [] };
    const update = (change: Partial<SandboxRollout>) => void (this.last = status = { ...status, ...change });
    update({});
    const say = (text: string) => {
      update({ lines: [...status.lines, text].slice(-100) });
      this.note(`rollout ${id}: ${text}`);
      options.onLine?.(text);
    };
    say(`${plan.from.name} → ${plan.to}, steps ${plan.steps.join(', ')} %, ${plan.holdCalls} calls counted per step`);
    const run = runRollout(this.ctx, plan, {
      ...options,
      signal: this.stop.signal,
      onLine: say,
      onStep: async (result) => {
        update({ phase: result.kind === 'create' ? 'shifting' : result.kind === 'shift' && result.weights[plan.to] === 100 ? 'retiring' : status.phase });
        await options.onStep?.(result);
      },
    }).then(
      (results) => {
        update({ phase: 'done' });
        say(`done: ${plan.to} serves ${plan.service}`);
        return results;
      },
      (error: unknown) => {
        update({ phase: 'failed', error: errorMessage(error) });
        say(`failed: ${errorMessage(error)} (the scale sets and weights stay as they are)`);
        throw error;
      },
    );
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.running = settled;
    void settled.then(() => {
      if (this.running === settled) this.running = undefined;
    });
    // The action starts it and does not wait: its failure is in the status, not an unhandled rejection.
    run.catch(() => undefined);
    return { plan, run };
  }

  /** Stops a running rollout at its next wait and waits for it to end. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }
}
