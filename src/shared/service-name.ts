/**
 * What a mesh service name may be, wherever one comes in (scale set tags, relay pushes, gateway
 * rules): a DNS label, because the name becomes `<name>.service.consul`, xDS resource names and
 * the `xds:///<name>` target of gRPC clients.
 */
export const SERVICE_NAME = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** SERVICE_NAME in words, for error messages. */
export const SERVICE_NAME_RULE = '1–63 lower-case letters, digits and "-", starting with a letter, not ending with "-"';
