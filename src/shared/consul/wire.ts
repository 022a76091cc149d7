/**
 * The shapes of Consul's JSON answers the registry reads, validated at the boundary (only the
 * fields we use; the rest is ignored). Names follow Consul's API documentation.
 */
import { z } from 'zod';
import {
  readArray,
  readInt,
  readNullable,
  readNullableString,
  readNullish,
  readNumber,
  readObject,
  readOptionalString,
  readOr,
  readString,
  readStringList,
  readStringMap,
  withReader,
  INVALID,
} from './wire-readers';

const stringMap = z
  .record(z.string(), z.string())
  .nullish()
  .transform((v): Record<string, string> => v ?? {});
const stringList = z
  .array(z.string())
  .nullish()
  .transform((v): string[] => v ?? []);
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? '');

/** An entry of `GET /v1/catalog/nodes`. */
export const catalogNode = z.object({
  Node: z.string(),
  Address: z.string(),
  Meta: stringMap,
  ModifyIndex: z.number().int(),
});
export type CatalogNode = z.infer<typeof catalogNode>;
// The hot shapes (a sweep reads ~1 MB of them per scale set) also have a fast reader (wire-readers.ts).
const readCatalogNode = readObject({ Node: readString, Address: readString, Meta: readStringMap, ModifyIndex: readInt });
export const catalogNodes = withReader(z.array(catalogNode), readArray(readCatalogNode));

/** `GET /v1/catalog/services`: service name → union of tags. */
export const catalogServices = withReader(z.record(z.string(), stringList), (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return INVALID;
  const out: Record<string, string[]> = {};
  for (const [name, tags] of Object.entries(v)) {
    const read = readStringList(tags);
    if (read === INVALID || name === '__proto__') return INVALID;
    out[name] = read;
  }
  return out;
});

/** An entry of `GET /v1/catalog/service/:name`. */
export const catalogServiceNode = z.object({
  Node: z.string(),
  ServiceID: z.string(),
  ServiceName: z.string(),
  ServiceTags: stringList,
  ServiceAddress: optionalString,
  ServicePort: z.number().int(),
  ServiceMeta: stringMap,
  NodeMeta: stringMap,
});
export type CatalogServiceNode = z.infer<typeof catalogServiceNode>;
export const catalogServiceNodes = withReader(
  z.array(catalogServiceNode),
  readArray(
    readObject({
      Node: readString,
      ServiceID: readString,
      ServiceName: readString,
      ServiceTags: readStringList,
      ServiceAddress: readOptionalString,
      ServicePort: readInt,
      ServiceMeta: readStringMap,
      NodeMeta: readStringMap,
    }),
  ),
);

/** A health check as `/v1/health/*` returns it. */
export const healthCheck = z.object({
  Node: z.string(),
  CheckID: z.string(),
  Status: z.string(),
  Output: optionalString,
  ServiceID: optionalString,
});
export type HealthCheck = z.infer<typeof healthCheck>;
const readHealthCheck = readObject({ Node: readString, CheckID: readString, Status: readString, Output: readOptionalString, ServiceID: readOptionalString });
export const healthChecks = withReader(z.array(healthCheck), readArray(readHealthCheck));

/** An entry of `GET /v1/health/service/:name`. */
export const healthServiceEntry = z.object({
  Node: z.object({ Node: z.string(), Address: z.string(), Meta: stringMap }),
  Service: z.object({
    ID: z.string(),
    Service: z.string(),
    Tags: stringList,
    Address: optionalString,
    Port: z.number().int(),
    Meta: stringMap,
    Weights: z.object({ Passing: z.number(), Warning: z.number() }).nullish(),
  }),
  Checks: z
    .array(healthCheck)
    .nullish()
    .transform((v) => v ?? []),
});
export type HealthServiceEntry = z.infer<typeof healthServiceEntry>;
export const healthServiceEntries = withReader(
  z.array(healthServiceEntry),
  readArray(
    readObject({
      Node: readObject({ Node: readString, Address: readString, Meta: readStringMap }),
      Service: readObject({
        ID: readString,
        Service: readString,
        Tags: readStringList,
        Address: readOptionalString,
        Port: readInt,
        Meta: readStringMap,
        Weights: readNullish(readObject({ Passing: readNumber, Warning: readNumber })),
      }),
      Checks: readOr(readArray(readHealthCheck), () => []),
    }),
  ),
);

/** A KV entry; `Value` is base64 (null when empty). */
export const kvEntry = z.object({
  Key: z.string(),
  Value: z.string().nullable(),
  ModifyIndex: z.number().int(),
});
export type KvEntry = z.infer<typeof kvEntry>;
export const kvEntries = withReader(z.array(kvEntry), readArray(readObject({ Key: readString, Value: readNullableString, ModifyIndex: readInt })));

/** The body of `PUT /v1/txn` on 200 and on 409. */
export const txnAnswer = z.object({
  Results: z
    .array(
      z.object({
        KV: z.object({ Key: z.string(), ModifyIndex: z.number().int() }).nullish(),
        Node: z.object({ Node: z.string(), ModifyIndex: z.number().int() }).nullish(),
        Service: z.object({ ID: z.string(), ModifyIndex: z.number().int() }).nullish(),
        Check: z.object({ CheckID: z.string(), ModifyIndex: z.number().int() }).nullish(),
      }),
    )
    .nullish()
    .transform((v) => v ?? []),
  Errors: z
    .array(z.object({ OpIndex: z.number().int(), What: z.string() }))
    .nullish()
    .transform((v) => v ?? []),
});
withReader(
  txnAnswer,
  readObject({
    Results: readOr(
      readArray(
        readObject({
          KV: readNullish(readObject({ Key: readString, ModifyIndex: readInt })),
          Node: readNullish(readObject({ Node: readString, ModifyIndex: readInt })),
          Service: readNullish(readObject({ ID: readString, ModifyIndex: readInt })),
          Check: readNullish(readObject({ CheckID: readString, ModifyIndex: readInt })),
        }),
      ),
      () => [],
    ),
    Errors: readOr(readArray(readObject({ OpIndex: readInt, What: readString })), () => []),
  }),
);
export type TxnAnswer = z.infer<typeof txnAnswer>;

export function decodeBase64(value: string | null): string {
  return value === null ? '' : Buffer.from(value, 'base64').toString('utf8');
}

/** `GET /v1/catalog/node/:node`: null when the node does not exist. */
export const catalogNodeWithServices = withReader(
  z.object({ Node: z.object({ Node: z.string(), Meta: stringMap }) }).nullable(),
  readNullable(readObject({ Node: readObject({ Node: readString, Meta: readStringMap }) })),
);
