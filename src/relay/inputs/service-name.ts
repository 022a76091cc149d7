/**
 * What a mesh service name may be, for every input of the relay (pushes, gateway rules). Same rule
 * as the scale set tags (src/shared/azure/mesh-tags.ts): a DNS label, because the name becomes
 * `<name>.service.consul`, xDS resource names and the `xds:///<name>` target of gRPC clients.
 */
export const SERVICE_NAME = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const SERVICE_NAME_RULE = '1–63 lower-case letters, digits and "-", starting with a letter';
