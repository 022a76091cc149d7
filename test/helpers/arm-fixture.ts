/**
 * An ARM emulator plus real SDK clients pointed at it, closed after the test. Each call makes a
 * fresh emulator and world, so tests never share state.
 */
import type { TestContext } from 'node:test';
import { startArmEmulator } from '../../src/sandbox/arm-emulator';
import type { ArmEmulator, ArmEmulatorOptions, CreateScaleSetInput, EmulatedScaleSet } from '../../src/sandbox/arm-emulator';
import { createArmClients } from '../../src/shared/azure';
import type { ArmClients, ArmRetryOptions } from '../../src/shared/azure';
import type { MeshScaleSet } from '../../src/shared/model';
import { classifyScaleSet } from '../../src/shared/azure';

export const SUBSCRIPTION = '00000000-0000-4000-8000-000000000001';
export const OTHER_SUBSCRIPTION = '00000000-0000-4000-8000-000000000002';
export const TOKEN = 'test-token';

export interface ArmFixture {
  readonly arm: ArmEmulator;
  readonly clients: ArmClients;
}

export interface ArmFixtureOptions extends ArmEmulatorOptions {
  /** Client retry settings; default: SDK retries with short back-off so failures stay fast. */
  readonly retry?: ArmRetryOptions;
}

export async function startArmFixture(t: Pick<TestContext, 'after'>, options: ArmFixtureOptions = {}): Promise<ArmFixture> {
  const { retry, ...emulatorOptions } = options;
  const arm = await startArmEmulator({ pageSize: 2, token: TOKEN, ...emulatorOptions });
  t.after(() => arm.close());
  const clients = createArmClients(
    { endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION },
    { caPem: arm.caPem, retry: { retryDelayInMs: 10, maxRetryDelayInMs: 50, ...retry } },
  );
  return { arm, clients };
}

/** The MeshScaleSet our inventory would build for an emulated scale set (tags must declare the mesh). */
export function meshScaleSetOf(scaleSet: EmulatedScaleSet): MeshScaleSet {
  const classified = classifyScaleSet({
    id: scaleSet.id,
    location: scaleSet.location,
    tags: { ...scaleSet.tags },
    sku: { capacity: scaleSet.capacity },
    orchestrationMode: scaleSet.orchestrationMode,
  });
  if (classified.kind !== 'mesh') throw new Error(`${scaleSet.name} is not tagged for the mesh: ${JSON.stringify(classified)}`);
  return classified.scaleSet;
}

export const WEB_TAGS = { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } as const;

export function scaleSetInput(overrides: Partial<CreateScaleSetInput> & Pick<CreateScaleSetInput, 'name'>): CreateScaleSetInput {
  return { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-mesh', tags: WEB_TAGS, ...overrides };
}
