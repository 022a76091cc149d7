/** Which set of resources a client gets; chosen from its node (see `ads/profile.ts`). */
export type ClientProfile = 'envoy-gateway' | 'proxyless-grpc';
