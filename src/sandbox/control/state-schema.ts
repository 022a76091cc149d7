/**
 * `SandboxState` as it crosses a process boundary (the CLI reading `GET /api/state`): validated
 * once here so the renderers downstream can trust the type. Kept in step with
 * `sandbox-state.ts` by the compiler: the schema's output must be assignable to the model.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../shared/errors';
import type { SandboxState } from '../sandbox-state';

const versions = z.record(z.string(), z.string());

const instance = z.object({
  name: z.string(),
  instanceId: z.string(),
  privateIp: z.string(),
  zone: z.string(),
  provisioningState: z.string(),
  powerState: z.string(),
  health: z.string().nullable(),
  consul: z.enum(['passing', 'warning', 'critical', 'draining', 'absent']),
  trafficShare: z.number().min(0).max(1),
  served: z.number().int().min(0),
});

const stateSchema = z.object({
  generatedAt: z.string(),
  endpoints: z.object({
    armEmulator: z.string(),
    consul: z.string(),
    consulKind: z.enum(['agent', 'double']),
    functionsHost: z.string(),
    relayXds: z.string(),
    relayAdmin: z.string(),
    statusPage: z.string(),
  }),
  scaleSets: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      orchestrationMode: z.enum(['Uniform', 'Flexible']),
      capacity: z.number().int().min(0),
      service: z.string(),
      port: z.number().int(),
      protocol: z.string(),
      instances: z.array(instance),
    }),
  ),
  relayClients: z.array(
    z.object({
      nodeId: z.string(),
      profile: z.string(),
      lastSentVersion: versions,
      lastAckedVersion: versions,
      lastNack: z.string().optional(),
    }),
  ),
  traffic: z.object({
    windowSeconds: z.number().min(0),
    requests: z.number().int().min(0),
    failed: z.number().int().min(0),
    failedTotal: z.number().int().min(0),
  }),
  eventChaos: z.boolean(),
  timeline: z.array(
    z.object({
      at: z.string(),
      kind: z.enum(['arm-operation', 'event-delivered', 'reconcile', 'push', 'client-ack', 'sandbox']),
      summary: z.string(),
    }),
  ),
  rollout: z
    .object({
      id: z.number().int().min(1),
      service: z.string(),
      from: z.string(),
      to: z.string(),
      image: z.string(),
      steps: z.array(z.number().int()),
      phase: z.enum(['creating', 'shifting', 'retiring', 'done', 'failed']),
      lines: z.array(z.string()),
      error: z.string().optional(),
    })
    .optional(),
});

// Compile-time guard: a field added to the model but not here (or typed differently) fails tsc.
const _modelMatches: (s: z.output<typeof stateSchema>) => SandboxState = (s) => s;
void _modelMatches;

/** Parses a state document from the control server; throws `InvalidInputError` naming the field. */
export function parseSandboxState(body: unknown): SandboxState {
  const result = stateSchema.safeParse(body);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const path = first ? first.path.map(String).join('.') : '';
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problems)` : '';
  throw new InvalidInputError(`not a sandbox state: ${first?.message ?? 'invalid'}${more}`, path);
}
