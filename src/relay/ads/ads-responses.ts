/**
 * Serializes ADS responses by hand from pre-encoded resource bytes.
 *
 * Why by hand: every resource is encoded once per version (EncodedResource.bytes) and shared by all
 * streams. A response is only a thin protobuf envelope around those bytes, so it is cheaper to
 * compute its exact size, allocate one buffer and copy the shared bytes in, than to build
 * protobufjs message objects per stream and let protobufjs walk them. Measured against
 * `DiscoveryResponse.encode(create(...))` with the same shared Uint8Arrays (Node 20): 1,000
 * resources of 50-270 bytes 1.5-1.8x faster (SotW and Delta), 100 resources of 2.5 KB 1.2-1.4x
 * faster, and no per-resource objects. The tests decode every shape with Envoy's own protos.
 *
 * Wire layout (field numbers from envoy/service/discovery/v3/discovery.proto):
 *   DiscoveryResponse      1 version_info, 2 resources (Any), 4 type_url, 5 nonce
 *   DeltaDiscoveryResponse 1 system_version_info, 2 resources (Resource), 4 type_url, 5 nonce,
 *                          6 removed_resources
 *   Resource               3 name, 1 version, 2 resource (Any)
 *   google.protobuf.Any    1 type_url, 2 value
 */
import { TYPE_URLS } from '../xds/kinds';
import type { EncodedResource, ResourceKind } from '../xds/resource-kind';

/** A SotW response as the stream built it (the resources are the shared, immutable objects). */
export interface SotwResponse {
  readonly kind: ResourceKind;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
}

/** A Delta response as the stream built it. */
export interface DeltaResponse {
  readonly kind: ResourceKind;
  readonly systemVersionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  readonly removed: readonly string[];
}

/** What a stream writes to grpc-js: the response (for hooks and tests) and its serialized form. */
export interface OutgoingResponse<R extends SotwResponse | DeltaResponse = SotwResponse | DeltaResponse> {
  readonly response: R;
  readonly encoded: Buffer;
}

const WIRE_LEN = 2;

function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Size of a length-delimited field whose payload is `length` bytes (all our tags fit one byte). */
function lenFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

class WireWriter {
  readonly buffer: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  varint(value: number): void {
    while (value >= 0x80) {
      this.buffer[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.pos++] = value;
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.buffer[this.pos++] = tag(field, WIRE_LEN);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** Copies bytes as they are. TypedArray#set has a fixed cost that dominates for short arrays. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n > 64) {
      this.buffer.set(bytes, this.pos);
    } else {
      const buf = this.buffer;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = bytes[i]!;
    }
    this.pos += n;
  }

  stringField(field: number, value: string, byteLength: number): void {
    this.buffer[this.pos++] = tag(field, WIRE_LEN);
    this.varint(byteLength);
    if (byteLength === value.length) {
      // ASCII (the usual case for names and versions): a loop beats the native call.
      const buf = this.buffer;
      let p = this.pos;
      for (let i = 0; i < byteLength; i++) buf[p++] = value.charCodeAt(i);
      this.pos = p;
    } else {
      this.pos += this.buffer.write(value, this.pos, byteLength, 'utf8');
    }
  }

  /** Starts a length-delimited field whose payload the caller writes next. */
  lenHeader(field: number, length: number): void {
    this.buffer[this.pos++] = tag(field, WIRE_LEN);
    this.varint(length);
  }

  finish(): Buffer {
    if (this.pos !== this.buffer.length) {
      throw new Error(`ADS response encoder wrote ${this.pos} of ${this.buffer.length} bytes`);
    }
    return this.buffer;
  }
}

/** UTF-8 length; equal to `value.length` exactly when the string is ASCII. */
function utf8Length(value: string): number {
  const n = value.length;
  if (n > 128) return Buffer.byteLength(value, 'utf8');
  for (let i = 0; i < n; i++) {
    if (value.charCodeAt(i) >= 0x80) return Buffer.byteLength(value, 'utf8');
  }
  return n;
}

/** Proto3 omits empty strings; so do we (decoders read them back as ''). */
function optionalStringSize(value: string): [number, number] {
  if (value === '') return [0, 0];
  const bytes = utf8Length(value);
  return [bytes, lenFieldSize(bytes)];
}

const TYPE_URL_BYTES: Readonly<Record<ResourceKind, Buffer>> = {
  cluster: Buffer.from(TYPE_URLS.cluster, 'utf8'),
  endpoint: Buffer.from(TYPE_URLS.endpoint, 'utf8'),
  listener: Buffer.from(TYPE_URLS.listener, 'utf8'),
  route: Buffer.from(TYPE_URLS.route, 'utf8'),
};

/** `Any.type_url` (field 1) as written before every value: tag, length, URL. Constant per kind. */
const ANY_TYPE_URL_FIELD: Readonly<Record<ResourceKind, Buffer>> = {
  cluster: anyTypeUrlField('cluster'),
  endpoint: anyTypeUrlField('endpoint'),
  listener: anyTypeUrlField('listener'),
  route: anyTypeUrlField('route'),
};

function anyTypeUrlField(kind: ResourceKind): Buffer {
  const url = TYPE_URL_BYTES[kind];
  const writer = new WireWriter(lenFieldSize(url.length));
  writer.bytesField(1, url);
  return writer.finish();
}

function anySize(kind: ResourceKind, resource: EncodedResource): number {
  return ANY_TYPE_URL_FIELD[kind].length + lenFieldSize(resource.bytes.length);
}

function writeAny(writer: WireWriter, field: number, kind: ResourceKind, resource: EncodedResource, size: number): void {
  writer.lenHeader(field, size);
  writer.raw(ANY_TYPE_URL_FIELD[kind]);
  writer.bytesField(2, resource.bytes);
}

function checkKind(kind: ResourceKind, resource: EncodedResource): void {
  // A resource of another kind in a response would be a bug upstream; clients NACK it anyway.
  if (resource.kind !== kind) throw new Error(`resource ${resource.name} is a ${resource.kind}, not a ${kind}`);
}

export function encodeSotwResponse(response: SotwResponse): Buffer {
  const [versionBytes, versionSize] = optionalStringSize(response.versionInfo);
  const [nonceBytes, nonceSize] = optionalStringSize(response.nonce);
  const anySizes = response.resources.map((r) => {
    checkKind(response.kind, r);
    return anySize(response.kind, r);
  });
  let size = versionSize + nonceSize + lenFieldSize(TYPE_URL_BYTES[response.kind].length);
  for (const s of anySizes) size += lenFieldSize(s);

  const writer = new WireWriter(size);
  if (versionSize) writer.stringField(1, response.versionInfo, versionBytes);
  response.resources.forEach((r, i) => writeAny(writer, 2, response.kind, r, anySizes[i]!));
  writer.bytesField(4, TYPE_URL_BYTES[response.kind]);
  if (nonceSize) writer.stringField(5, response.nonce, nonceBytes);
  return writer.finish();
}

export function encodeDeltaResponse(response: DeltaResponse): Buffer {
  const [versionBytes, versionSize] = optionalStringSize(response.systemVersionInfo);
  const [nonceBytes, nonceSize] = optionalStringSize(response.nonce);
  const entries = response.resources.map((r) => {
    checkKind(response.kind, r);
    const nameBytes = utf8Length(r.name);
    const versionBytesOfResource = utf8Length(r.version);
    const any = anySize(response.kind, r);
    const inner = lenFieldSize(nameBytes) + lenFieldSize(versionBytesOfResource) + lenFieldSize(any);
    return { nameBytes, versionBytesOfResource, any, inner };
  });
  const removedBytes = response.removed.map(utf8Length);
  let size = versionSize + nonceSize + lenFieldSize(TYPE_URL_BYTES[response.kind].length);
  for (const e of entries) size += lenFieldSize(e.inner);
  for (const b of removedBytes) size += lenFieldSize(b);

  const writer = new WireWriter(size);
  if (versionSize) writer.stringField(1, response.systemVersionInfo, versionBytes);
  response.resources.forEach((r, i) => {
    const e = entries[i]!;
    writer.lenHeader(2, e.inner);
    // Resource.name (3) and Resource.version (1) are always written, even when empty, so that
    // "present but empty" can never be mistaken for a missing name by a client.
    writer.stringField(3, r.name, e.nameBytes);
    writer.stringField(1, r.version, e.versionBytesOfResource);
    writeAny(writer, 2, response.kind, r, e.any);
  });
  writer.bytesField(4, TYPE_URL_BYTES[response.kind]);
  if (nonceSize) writer.stringField(5, response.nonce, nonceBytes);
  response.removed.forEach((name, i) => writer.stringField(6, name, removedBytes[i]!));
  return writer.finish();
}
