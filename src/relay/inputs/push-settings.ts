/**
 * The relay settings that decide how long pushes may stand in for Consul (push-overlays.ts); spread
 * into RELAY_SETTINGS (relay-config.ts), which parses them with everything else. Defaults come from
 * DEFAULT_PUSH_RULES.
 */
import { z } from 'zod';
import { DEFAULT_PUSH_RULES, type PushRules } from './push-overlays';

export const PUSH_OVERLAY_SETTINGS = {
  VMSS_MESH_RELAY_PUSH_MAX_INDEX_AHEAD: {
    default: String(DEFAULT_PUSH_RULES.maxIndexAhead),
    flag: 'push-max-index-ahead',
    doc: "How far a push's consul_index may be ahead of the latest index the relay saw from Consul; beyond it the relay reads the service from Consul once and refuses the push (FAILED_PRECONDITION) unless Consul confirms it.",
  },
  VMSS_MESH_RELAY_PUSH_EXPIRY_MS: {
    default: String(DEFAULT_PUSH_RULES.overlayTtlMs),
    flag: 'push-expiry-ms',
    doc: 'A pushed endpoint set Consul has not confirmed is served at most this long, then Consul\'s own data (or nothing, if Consul does not list the service) is served again; time while the Consul watch cannot reach Consul (its service-list query failing) does not count.',
  },
} as const;

export type PushOverlaySettingName = keyof typeof PUSH_OVERLAY_SETTINGS;

export function parsePushOverlay(parse: <T>(name: PushOverlaySettingName, schema: z.ZodType<T>) => T): Pick<PushRules, 'maxIndexAhead' | 'overlayTtlMs'> {
  const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
  return {
    maxIndexAhead: parse('VMSS_MESH_RELAY_PUSH_MAX_INDEX_AHEAD', intIn(0, 1_000_000_000)),
    overlayTtlMs: parse('VMSS_MESH_RELAY_PUSH_EXPIRY_MS', intIn(1_000, 3_600_000)),
  };
}
