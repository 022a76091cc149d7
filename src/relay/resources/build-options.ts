/**
 * How the relay's Envoy resources are shaped. Everything is optional with a documented default;
 * `resolveBuildOptions` turns the input into the fully-filled `BuildOptions` the builders use, and
 * rejects impossible values with a `ConfigError` naming the option.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../../shared/errors';

export type RouteConfigMode = 'rds' | 'inline';

export interface OutlierDetectionOptions {
  /** Consecutive 5xx (Envoy) before a host is ejected. Default 5. gRPC clients ignore it. */
  readonly consecutive5xx?: number;
  /** Time between ejection sweeps. Default 10 000 ms. */
  readonly intervalMs?: number;
  /** Base ejection time (multiplied by the number of ejections). Default 30 000 ms. */
  readonly baseEjectionTimeMs?: number;
  /** Most hosts of a cluster ejected at once, in percent. Default 10 (Envoy's; at least one host can always be ejected). */
  readonly maxEjectionPercent?: number;
}

export interface HealthCheckOptions {
  /** Default 5 000 ms. */
  readonly intervalMs?: number;
  /** Default 2 000 ms. */
  readonly timeoutMs?: number;
  /** Failed checks before a host is unhealthy. Default 2. */
  readonly unhealthyThreshold?: number;
  /** Passed checks before a host is healthy again. Default 1. */
  readonly healthyThreshold?: number;
}

export interface ResourceBuildOptions {
  /** Port of the Envoy gateway's HTTP listener. Default 8080. */
  readonly gatewayListenerPort?: number;
  /** Address the gateway listener binds (IP literal). Default `0.0.0.0`. */
  readonly gatewayListenerAddress?: string;
  /** Cluster `connect_timeout`. Default 1 000 ms (instances sit in the same virtual network). */
  readonly connectTimeoutMs?: number;
  /** Outlier detection on every cluster of both profiles; `false` leaves it out. Defaults above. */
  readonly outlierDetection?: OutlierDetectionOptions | false;
  /** Active HTTP health check of gateway clusters whose service declares a health path. Defaults above. */
  readonly healthCheck?: HealthCheckOptions;
  /** When true, `warning` endpoints are sent as UNHEALTHY instead of HEALTHY. Default false. */
  readonly onlyPassing?: boolean;
  /** How proxyless gRPC listeners carry their routes: `rds` (a RouteConfiguration over ADS) or `inline`. Default `rds`. */
  readonly routeConfigMode?: RouteConfigMode;
  /** `Locality.region` of every endpoint (the Azure region, when known). Default `''`. */
  readonly localityRegion?: string;
}

export interface BuildOptions {
  readonly gatewayListenerPort: number;
  readonly gatewayListenerAddress: string;
  readonly connectTimeoutMs: number;
  readonly outlierDetection: Required<OutlierDetectionOptions> | false;
  readonly healthCheck: Required<HealthCheckOptions>;
  readonly onlyPassing: boolean;
  readonly routeConfigMode: RouteConfigMode;
  readonly localityRegion: string;
}

export const DEFAULT_OUTLIER_DETECTION: Required<OutlierDetectionOptions> = {
  consecutive5xx: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 10,
};

export const DEFAULT_HEALTH_CHECK: Required<HealthCheckOptions> = {
  intervalMs: 5_000,
  timeoutMs: 2_000,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
};

export const DEFAULT_BUILD_OPTIONS: BuildOptions = {
  gatewayListenerPort: 8080,
  gatewayListenerAddress: '0.0.0.0',
  connectTimeoutMs: 1_000,
  outlierDetection: DEFAULT_OUTLIER_DETECTION,
  healthCheck: DEFAULT_HEALTH_CHECK,
  onlyPassing: false,
  routeConfigMode: 'rds',
  localityRegion: '',
};

/**
 * Durations must be > 0 (Envoy rejects a zero connect timeout or interval) and within what Envoy
 * accepts of a google.protobuf.Duration: (INT64_MAX - 999999999) / 1e9 s, about 292 years
 * (validateDurationUnifiedNoThrow), well below the Duration type's own 10,000 years.
 */
const MAX_DURATION_MS = 9_223_372_035_000;

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`must be a whole number from ${min} to ${max}, got ${value}`, name);
  }
  return value;
}

export function resolveBuildOptions(options: ResourceBuildOptions = {}): BuildOptions {
  const d = DEFAULT_BUILD_OPTIONS;
  const address = options.gatewayListenerAddress ?? d.gatewayListenerAddress;
  if (isIP(address) === 0) throw new ConfigError(`must be an IP literal, got ${JSON.stringify(address)}`, 'gatewayListenerAddress');
  const mode = options.routeConfigMode ?? d.routeConfigMode;
  if (mode !== 'rds' && mode !== 'inline') throw new ConfigError(`must be "rds" or "inline", got ${JSON.stringify(mode)}`, 'routeConfigMode');
  const region = options.localityRegion ?? d.localityRegion;
  if (typeof region !== 'string') throw new ConfigError('must be a string', 'localityRegion');

  let outlierDetection: BuildOptions['outlierDetection'] = false;
  if (options.outlierDetection !== false) {
    const o = { ...DEFAULT_OUTLIER_DETECTION, ...options.outlierDetection };
    outlierDetection = {
      consecutive5xx: int('outlierDetection.consecutive5xx', o.consecutive5xx, 1, 0xffff_ffff),
      intervalMs: int('outlierDetection.intervalMs', o.intervalMs, 1, MAX_DURATION_MS),
      baseEjectionTimeMs: int('outlierDetection.baseEjectionTimeMs', o.baseEjectionTimeMs, 1, MAX_DURATION_MS),
      maxEjectionPercent: int('outlierDetection.maxEjectionPercent', o.maxEjectionPercent, 0, 100),
    };
  }
  const h = { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck };
  const healthCheck = {
    intervalMs: int('healthCheck.intervalMs', h.intervalMs, 1, MAX_DURATION_MS),
    timeoutMs: int('healthCheck.timeoutMs', h.timeoutMs, 1, MAX_DURATION_MS),
    unhealthyThreshold: int('healthCheck.unhealthyThreshold', h.unhealthyThreshold, 1, 0xffff_ffff),
    healthyThreshold: int('healthCheck.healthyThreshold', h.healthyThreshold, 1, 0xffff_ffff),
  };
  return {
    gatewayListenerPort: int('gatewayListenerPort', options.gatewayListenerPort ?? d.gatewayListenerPort, 1, 65_535),
    gatewayListenerAddress: address,
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs, 1, MAX_DURATION_MS),
    outlierDetection,
    healthCheck,
    onlyPassing: options.onlyPassing ?? d.onlyPassing,
    routeConfigMode: mode,
    localityRegion: region,
  };
}
