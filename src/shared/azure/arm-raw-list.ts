/**
 * The hot listings of a reconcile (a scale set's VMs with their instance views, its NICs, a
 * resource group's NICs) read without the SDK's model deserialisation.
 *
 * The SDK clients (`@azure/arm-compute` 25, `@azure/arm-network` 39, TypeSpec-generated) parse each
 * page's JSON and then copy every item, field by field, into a fresh model object (`…Deserializer`
 * in their `models.js`), most of whose fields we never read: for 10,000 VMs and their NICs that copy
 * and its garbage were a third of a sweep's ARM CPU. Their list operations cannot skip it (the
 * paging helper always calls the operation's `_listDeserialize`), so these listings are sent through
 * the same client's REST layer, `pathUnchecked(url).get()` — the one the SDK's paging helper itself
 * uses for next links —, which runs the client's whole pipeline (credential, retry, our retry-after
 * budget and call meter, TLS agent) and answers the parsed JSON. The few fields we read are then
 * taken from ARM's wire shape (instance-mapping.ts, `vmFromArm` / `nicFromArm`).
 *
 * The REST layer is the client's `_client` property: not in the SDK's typings, so it is looked up
 * and checked here; a client without it (another SDK version, a test double) makes `rawListing`
 * answer undefined and the caller uses the SDK's own list operation instead. Paths, api-versions
 * and query parameters are those the SDK operations send (test/integration/arm-raw-list.test.ts
 * compares the requests).
 */
import { InvalidInputError } from '../errors';

/** The parsed response of `pathUnchecked(…).get()` (`PathUncheckedResponse` of `@azure-rest/core-client`). */
interface RawResponse {
  readonly status: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
}

interface RawRestClient {
  pathUnchecked(path: string): { get(options?: { abortSignal?: AbortSignal }): PromiseLike<RawResponse> };
}

/** The api-versions the SDK operations we replace send (`@azure/arm-compute` 25.1, `@azure/arm-network` 39.0). */
export const RAW_LIST_API_VERSIONS = {
  /** `virtualMachineScaleSetVMs.list`, `virtualMachines.list`. */
  compute: '2026-04-01',
  /** `networkInterfaces.listVirtualMachineScaleSetNetworkInterfaces` (served under Microsoft.Compute). */
  scaleSetNics: '2018-10-01',
  /** `networkInterfaces.list`. */
  nics: '2026-01-01',
} as const;

/** The REST layer of an SDK client, when it has the one we know (see the module comment). */
function restLayerOf(sdkClient: object): RawRestClient | undefined {
  const inner: unknown = (sdkClient as { _client?: unknown })._client;
  if (typeof inner !== 'object' || inner === null) return undefined;
  return typeof (inner as { pathUnchecked?: unknown }).pathUnchecked === 'function' ? (inner as RawRestClient) : undefined;
}

/**
 * What the SDK's paging helper throws for a status other than 200 (`createRestError("Pagination
 * failed with unexpected statusCode N", response)`): a RestError with ARM's error code, the status
 * and the response headers, so `toArmFailure` maps it exactly as before (Retry-After included).
 */
class ArmListingError extends Error {
  override readonly name = 'RestError';
  readonly statusCode: number;
  readonly code?: string;
  readonly response: { readonly status: number; readonly headers: { get(name: string): string | undefined } };

  constructor(response: RawResponse) {
    const status = Number.parseInt(response.status, 10);
    super(`Pagination failed with unexpected statusCode ${response.status}`);
    this.statusCode = status;
    const error = (response.body as { error?: { code?: unknown } } | undefined)?.error;
    if (typeof error?.code === 'string') this.code = error.code;
    const headers = response.headers;
    this.response = { status, headers: { get: (name) => headers[name.toLowerCase()] } };
  }
}

function withQuery(path: string, query: Readonly<Record<string, string | undefined>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) if (value !== undefined) parts.push(`${key}=${encodeURIComponent(value)}`);
  return parts.length === 0 ? path : `${path}?${parts.join('&')}`;
}

/** As the SDK's paging helper does: a next link without `api-version` gets the operation's. */
function withApiVersion(link: string, apiVersion: string): string {
  const url = new URL(link, 'https://management.invalid');
  return url.searchParams.get('api-version') ? link : `${link}${url.search ? '&' : '?'}api-version=${apiVersion}`;
}

export interface RawListRequest {
  /** ARM path below the endpoint, e.g. `/subscriptions/…/virtualMachines`. */
  readonly path: string;
  readonly apiVersion: string;
  /** Further query parameters (`$filter`, `$expand`); undefined values are left out. */
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly abortSignal?: AbortSignal;
}

async function* pages(client: RawRestClient, request: RawListRequest): AsyncGenerator<unknown[]> {
  let url: string | undefined = withQuery(request.path, { 'api-version': request.apiVersion, ...request.query });
  while (url !== undefined) {
    const response = await client.pathUnchecked(url).get(request.abortSignal ? { abortSignal: request.abortSignal } : {});
    if (response.status !== '200') throw new ArmListingError(response);
    const body = response.body as { value?: unknown; nextLink?: unknown } | null | undefined;
    if (typeof body !== 'object' || body === null || (body.value !== undefined && !Array.isArray(body.value))) {
      throw new InvalidInputError(`ARM answered a page of ${request.path} that is not a list ({ value: [...] })`);
    }
    yield (body.value as unknown[] | undefined) ?? [];
    url = typeof body.nextLink === 'string' && body.nextLink !== '' ? withApiVersion(body.nextLink, request.apiVersion) : undefined;
  }
}

/**
 * The pages (arrays of ARM's JSON items) of a listing sent through `sdkClient`'s pipeline, or
 * undefined when the client has no REST layer we know (then use the SDK's list operation).
 */
export function rawListing(sdkClient: object, request: RawListRequest): AsyncIterable<unknown[]> | undefined {
  const client = restLayerOf(sdkClient);
  return client === undefined ? undefined : pages(client, request);
}
