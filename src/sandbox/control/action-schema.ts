/**
 * The one parser of `SandboxAction`s arriving from outside (the page's buttons, `vmss-mesh sandbox
 * …`, curl). Shape errors become an `InvalidInputError` whose message names the field, so the
 * control server can answer 400 with something a person can act on. Whether the named scale set
 * or instance exists is the sandbox's business (`act`), not the parser's.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../shared/errors';
import { MAX_HOLD_CALLS, stepProblems } from '../rollout-request';
import type { SandboxAction } from '../sandbox-state';

/** Azure's own ceiling for one scale set; the sandbox may refuse less through `act`. */
export const MAX_SANDBOX_CAPACITY = 1000;

export const SANDBOX_ACTION_NAMES = ['scale', 'fail', 'heal', 'event-chaos', 'fail-half', 'rollout'] as const;

const name = (what: string) => z.string({ error: `must be a ${what} name (string)` }).trim().min(1, { error: `must be a non-empty ${what} name` }).max(256, { error: `${what} name is longer than 256 characters` });

const schemas = {
  scale: z.strictObject({
    action: z.literal('scale'),
    scaleSet: name('scale set'),
    capacity: z
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must be 0 or more' })
      .max(MAX_SANDBOX_CAPACITY, { error: `must be at most ${MAX_SANDBOX_CAPACITY}` }),
  }),
  fail: z.strictObject({ action: z.literal('fail'), instance: name('instance') }),
  heal: z.strictObject({ action: z.literal('heal'), instance: name('instance') }),
  'event-chaos': z.strictObject({ action: z.literal('event-chaos'), enabled: z.boolean({ error: 'must be true or false' }) }),
  'fail-half': z.strictObject({ action: z.literal('fail-half'), instance: name('instance') }),
  rollout: z.strictObject({
    action: z.literal('rollout'),
    service: name('service or scale set'),
    to: z.string({ error: 'must be a new scale set name or an image reference (string)' }).trim().min(1, { error: 'must be a new scale set name or an image reference' }).max(1024, { error: 'is longer than 1024 characters' }),
    steps: z
      .array(z.number({ error: 'must be a number' }), { error: 'must be a list of shares in percent, e.g. [10, 50, 100]' })
      .superRefine((steps, ctx) => {
        for (const problem of stepProblems(steps)) ctx.addIssue({ code: 'custom', message: problem });
      }),
    holdCalls: z
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must be 0 or more' })
      .max(MAX_HOLD_CALLS, { error: `must be at most ${MAX_HOLD_CALLS}` })
      .optional(),
  }),
} satisfies Record<SandboxAction['action'], z.ZodType<SandboxAction>>;

function isActionName(value: unknown): value is SandboxAction['action'] {
  return typeof value === 'string' && (SANDBOX_ACTION_NAMES as readonly string[]).includes(value);
}

/** Validates an action body; throws `InvalidInputError` listing every problem with its field. */
export function parseSandboxAction(body: unknown): SandboxAction {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInputError('an action must be a JSON object such as {"action":"scale","scaleSet":"web","capacity":3}');
  }
  const action = (body as { action?: unknown }).action;
  if (!isActionName(action)) {
    throw new InvalidInputError(`must be one of ${SANDBOX_ACTION_NAMES.map((n) => JSON.stringify(n)).join(', ')}, got ${action === undefined ? 'nothing' : JSON.stringify(action)}`, 'action');
  }
  const result = schemas[action].safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} for action "${action}"`;
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new InvalidInputError(problems.join('; '));
}
