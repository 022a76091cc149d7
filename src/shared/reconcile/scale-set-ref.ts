import type { ScaleSetRef } from '../model';

/** A ScaleSetRef from an ID that is already normalised (as stored in our Consul marks). */
export function scaleSetRefFromNormalisedId(id: string): ScaleSetRef {
  const parts = id.split('/');
  // ['', 'subscriptions', S, 'resourcegroups', R, 'providers', 'microsoft.compute', 'virtualmachinescalesets', N]
  return { subscriptionId: parts[2] ?? '', resourceGroup: parts[4] ?? '', name: parts[8] ?? '', id };
}
