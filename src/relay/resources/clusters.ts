/**
 * One EDS cluster per mesh service, for each profile. Both take their endpoints over ADS
 * (`eds_config.ads`, API version V3) from the ClusterLoadAssignment named like the cluster, and
 * balance ROUND_ROBIN (the one policy every grpc-js version accepts without custom LB config).
 *
 * Gateway clusters also get: an active HTTP health check when the service declares a health path
 * (HTTP/2 for gRPC services), HTTP/2 upstream for gRPC services, and a healthy-panic threshold of
 * 0 % so endpoints Azure reports down never receive traffic, even when most of a service is down
 * (Envoy's default of 50 % would spread requests over the broken instances).
 */
import type { BuildOptions } from './build-options';
import { anyOf, clusterName, duration, UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE } from './resource-names';
import type { ResourceSpec } from '../xds/resource-kind';

/** What a cluster needs to know of its service (not the endpoints: those go into the CLA). */
export interface ClusterSubject {
  readonly service: string;
  /** The cluster's name when it is not the service's own (a scale set's subset: traffic-split.ts). */
  readonly cluster?: string;
  readonly protocol: string;
  readonly healthPath?: string;
}

type ClusterOptions = Pick<BuildOptions, 'connectTimeoutMs' | 'outlierDetection'>;

function edsCluster(name: string, options: ClusterOptions): Record<string, unknown> {
  const od = options.outlierDetection;
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: duration(options.connectTimeoutMs),
    lb_policy: 'ROUND_ROBIN',
    ...(od
      ? {
          outlier_detection: {
            consecutive_5xx: { value: od.consecutive5xx },
            interval: duration(od.intervalMs),
            base_ejection_time: duration(od.baseEjectionTimeMs),
            max_ejection_percent: { value: od.maxEjectionPercent },
            // Envoy's documented defaults, stated explicitly: @grpc/grpc-js-xds enables success-rate
            // ejection when these are absent but leaves its minimum_hosts undefined, and grpc-js then
            // throws on an empty list in its outlier-detection timer (the client process dies after
            // the first interval). Explicit values change nothing for Envoy.
            enforcing_success_rate: { value: 100 },
            success_rate_minimum_hosts: { value: 5 },
            success_rate_request_volume: { value: 100 },
            success_rate_stdev_factor: { value: 1900 },
          },
        }
      : {}),
  };
}

export function buildGatewayCluster(subject: ClusterSubject, options: Pick<BuildOptions, 'connectTimeoutMs' | 'outlierDetection' | 'healthCheck'>): ResourceSpec {
  const grpc = subject.protocol === 'grpc';
  const hc = options.healthCheck;
  return {
    ...edsCluster(subject.cluster ?? clusterName(subject.service), options),
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    ...(subject.healthPath
      ? {
          health_checks: [
            {
              timeout: duration(hc.timeoutMs),
              interval: duration(hc.intervalMs),
              unhealthy_threshold: { value: hc.unhealthyThreshold },
              healthy_threshold: { value: hc.healthyThreshold },
              http_health_check: { path: subject.healthPath, ...(grpc ? { codec_client_type: 'HTTP2' } : {}) },
            },
          ],
        }
      : {}),
    ...(grpc
      ? {
          typed_extension_protocol_options: {
            [UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE]: anyOf(UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE, { explicit_http_config: { http2_protocol_options: {} } }),
          },
        }
      : {}),
  };
}

/** grpc-js reads outlier detection (success-rate ejection with its defaults; consecutive_5xx is Envoy-only). */
export function buildProxylessCluster(service: string, options: ClusterOptions, cluster = clusterName(service)): ResourceSpec {
  return edsCluster(cluster, options);
}
