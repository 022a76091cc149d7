/**
 * The Consul double's answers against HashiCorp's recorded Consul API responses: the
 * `@hashicorp/consul-api-double` package (6.1.x) holds them as templates (JSON with `${…}`
 * JavaScript/faker expressions, served by HashiCorp's UI test server). Each template is evaluated
 * here in a bare `vm` context with deterministic stand-ins for `fake`, `range`, `env` and
 * `location`, several times with different seeds (templates leave some fields out at random), and
 * the field names, nesting and JSON types are compared with what the double answers for the
 * endpoints the project uses. Every difference must be listed below with the reason it is right;
 * the endpoints that cannot be compared are listed with the reason too, and the test checks that
 * reason still holds (a newer package that adds a template makes it fail until it is compared).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { consulHttp, startDouble } from '../helpers/consul-fixtures';

const TEMPLATES = join(dirname(require.resolve('@hashicorp/consul-api-double/package.json')), 'v1');

// ---------------------------------------------------------------- templates

interface TemplateRequest {
  readonly file: string;
  readonly pathname: string;
  readonly search?: Readonly<Record<string, string>>;
  readonly method: string;
}

function evaluateTemplate(req: TemplateRequest, seed: number): unknown {
  let state = seed;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  // fake.<group>.<name>(…): numbers for `number`, booleans for `boolean`, a pick for `randomize`, else a plain word.
  const leaf = (name: string, args: unknown[]): unknown => {
    const [arg] = args;
    if (name === 'number') {
      const bounds = typeof arg === 'object' && arg !== null ? (arg as { min?: number; max?: number }) : { max: typeof arg === 'number' ? arg : 10 };
      const min = bounds.min ?? 0;
      return Math.floor(min + random() * ((bounds.max ?? 10) - min + 1));
    }
    if (name === 'boolean') return random() < 0.5;
    if (name === 'randomize') return (arg as unknown[])[Math.floor(random() * (arg as unknown[]).length)];
    return `fake${name}`;
  };
  const fake = new Proxy({}, { get: () => new Proxy({}, { get: (_group, name) => (...args: unknown[]) => leaf(String(name), args) }) });
  const math = Object.create(Math) as Record<string, unknown>;
  math.random = random;
  const context = vm.createContext({
    range: (n: number) => Array.from({ length: Number(n) }, (_, i) => i),
    env: (_name: string, fallback: unknown) => fallback,
    fake,
    location: { pathname: req.pathname, search: req.search ?? {} },
    http: { method: req.method },
    Math: math,
    parseInt,
  });
  const source = readFileSync(join(TEMPLATES, req.file), 'utf8');
  const text = new vm.Script(`\`${source}\``).runInContext(context, { timeout: 2_000 }) as string;
  return JSON.parse(text) as unknown;
}

// ---------------------------------------------------------------- shapes

type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object' | 'map';

interface Shape {
  readonly types: Set<JsonType>;
  readonly fields: Map<string, Shape>;
  /** Array items, or map values. */
  items?: Shape;
}

/** Objects whose keys are data (Meta and TaggedAddresses maps), not field names. */
const MAP_PATHS = new Set(['Node.Meta', 'Node.TaggedAddresses', 'Service.Meta', 'Service.TaggedAddresses']);

function emptyShape(): Shape {
  return { types: new Set(), fields: new Map() };
}

function addSample(shape: Shape, value: unknown, path: string): void {
  if (value === null) return void shape.types.add('null');
  if (Array.isArray(value)) {
    shape.types.add('array');
    for (const item of value) addSample((shape.items ??= emptyShape()), item, `${path}[]`);
    return;
  }
  if (typeof value === 'object') {
    if (MAP_PATHS.has(path.replace(/\[\]/g, '').replace(/^\./, ''))) {
      shape.types.add('map');
      for (const v of Object.values(value as Record<string, unknown>)) addSample((shape.items ??= emptyShape()), v, `${path}.*`);
      return;
    }
    shape.types.add('object');
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const field = shape.fields.get(k) ?? emptyShape();
      shape.fields.set(k, field);
      addSample(field, v, path ? `${path}.${k}` : k);
    }
    return;
  }
  shape.types.add(typeof value as JsonType);
}

/** Differences, each as `<path>: <what>`; `null` where the template has a container is Go's nil map or slice. */
function compare(template: Shape, ours: Shape, path: string, out: string[]): void {
  const name = path || '(root)';
  const common = [...template.types].some((t) => ours.types.has(t));
  if (!common && ours.types.size > 0 && template.types.size > 0) out.push(`${name}: type ${[...ours.types].join('|')} in the double, ${[...template.types].join('|')} in the template`);
  for (const [k, t] of template.fields) {
    const o = ours.fields.get(k);
    const at = path ? `${path}.${k}` : k;
    if (!o) out.push(`${at}: only in the template`);
    else compare(t, o, at, out);
  }
  for (const k of ours.fields.keys()) if (!template.fields.has(k)) out.push(`${path ? `${path}.${k}` : k}: only in the double`);
  if (template.items && ours.items) compare(template.items, ours.items, `${path}[]`, out);
}

function shapeOf(values: readonly unknown[]): Shape {
  const shape = emptyShape();
  for (const v of values) addSample(shape, v, '');
  return shape;
}

// ---------------------------------------------------------------- what is compared, and why differences are right

interface Comparison {
  readonly endpoint: string;
  readonly template: TemplateRequest;
  /** Request to the double. */
  readonly method: string;
  readonly path: string;
  readonly raw?: string;
  /** Each accepted difference with its reason. */
  readonly justified: Readonly<Record<string, string>>;
}

const COMPARISONS: readonly Comparison[] = [
  {
    endpoint: 'GET /v1/health/service/:service',
    template: { file: 'health/service/_', pathname: '/v1/health/service/web', method: 'GET' },
    method: 'GET',
    path: '/v1/health/service/web',
    justified: {
      '[].Service.ProxyDestination: only in the template':
        'the template predates Consul 1.3; ProxyDestination is gone from structs.NodeService (Proxy.DestinationServiceName replaced it)',
      '[].Service.Weights: only in the double': 'structs.NodeService has `Weights *Weights` since Consul 1.2.3; the API docs sample of this endpoint shows it',
      '[].Service.Connect: only in the double': 'structs.NodeService has `Connect ServiceConnect`, a struct value without omitempty: always `{}` for a plain service',
      '[].Service.Proxy.Mode: only in the double': 'Consul ≥1.10 writes ConnectProxyConfig.Mode ("" for a plain service); the template predates transparent proxy',
      '[].Service.Proxy.MeshGateway: only in the double': 'MeshGatewayConfig is a struct value in ConnectProxyConfig: `{}` even when empty',
      '[].Service.Proxy.Expose: only in the double': 'ExposeConfig is a struct value in ConnectProxyConfig: `{}` even when empty',
    },
  },
  {
    endpoint: 'GET /v1/kv/:key',
    template: { file: 'kv/_', pathname: '/v1/kv/app/config', method: 'GET' },
    method: 'GET',
    path: '/v1/kv/app/config',
    justified: {
      '[].Session: only in the template': 'structs.DirEntry has `Session string json:",omitempty"`: absent unless the key is locked; the template always fills one in',
    },
  },
  {
    endpoint: 'GET /v1/kv/:prefix?recurse',
    template: { file: 'kv/_', pathname: '/v1/kv/app/config', method: 'GET' },
    method: 'GET',
    path: '/v1/kv/app/?recurse',
    justified: {
      '[].Session: only in the template': 'structs.DirEntry has `Session string json:",omitempty"`: absent unless the key is locked; the template always fills one in',
    },
  },
  {
    endpoint: 'GET /v1/kv/:prefix?keys',
    template: { file: 'kv/_', pathname: '/v1/kv/app/', search: { keys: '' }, method: 'GET' },
    method: 'GET',
    path: '/v1/kv/app/?keys',
    justified: {},
  },
  { endpoint: 'PUT /v1/kv/:key', template: { file: 'kv/_', pathname: '/v1/kv/app/other', method: 'PUT' }, method: 'PUT', path: '/v1/kv/app/other', raw: 'x', justified: {} },
  { endpoint: 'DELETE /v1/kv/:key', template: { file: 'kv/_', pathname: '/v1/kv/app/other', method: 'DELETE' }, method: 'DELETE', path: '/v1/kv/app/other', justified: {} },
  { endpoint: 'GET /v1/status/leader', template: { file: 'status/leader', pathname: '/v1/status/leader', method: 'GET' }, method: 'GET', path: '/v1/status/leader', justified: {} },
  {
    endpoint: 'GET /v1/catalog/datacenters',
    template: { file: 'catalog/datacenters', pathname: '/v1/catalog/datacenters', method: 'GET' },
    method: 'GET',
    path: '/v1/catalog/datacenters',
    justified: {},
  },
];

/** Endpoints the project (or its tests) use that the package cannot be compared with; `file` is checked to still be absent or empty. */
const NOT_COMPARED: ReadonlyArray<{ endpoint: string; file: string; why: string }> = [
  { endpoint: 'GET /v1/catalog/service/:service', file: 'catalog/service/_', why: 'the template file is empty in the package' },
  { endpoint: 'GET /v1/catalog/node/:node', file: 'catalog/node/_', why: 'the template file is empty in the package' },
  { endpoint: 'PUT /v1/catalog/register', file: 'catalog/register', why: 'the template file is empty in the package' },
  { endpoint: 'PUT /v1/catalog/deregister', file: 'catalog/deregister', why: 'the template file is empty in the package' },
  { endpoint: 'GET /v1/catalog/nodes', file: 'catalog/nodes', why: 'no template (the package has only the UI-internal /v1/internal/ui/nodes)' },
  { endpoint: 'GET /v1/catalog/services', file: 'catalog/services', why: 'no template (the package has only the UI-internal /v1/internal/ui/services)' },
  { endpoint: 'GET /v1/catalog/node-services/:node', file: 'catalog/node-services/_', why: 'no template' },
  { endpoint: 'GET /v1/health/state/:state', file: 'health/state/_', why: 'no template' },
  { endpoint: 'GET /v1/health/node/:node', file: 'health/node/_', why: 'no template' },
  { endpoint: 'GET /v1/health/checks/:service', file: 'health/checks/_', why: 'no template' },
  { endpoint: 'PUT /v1/txn', file: 'txn', why: 'no template' },
  { endpoint: 'GET /v1/agent/self', file: 'agent/self', why: 'no template' },
  { endpoint: 'GET /v1/status/peers', file: 'status/peers', why: 'no template' },
];

const SEEDS = Array.from({ length: 12 }, (_, i) => i * 7919 + 1);

async function seedDouble(url: string): Promise<void> {
  const put = async (path: string, options: { body?: unknown; raw?: string }): Promise<void> => {
    const res = await consulHttp(url, 'PUT', path, options);
    assert.equal(res.status, 200, `${path}: ${res.text}`);
  };
  for (const node of ['node-0', 'node-1']) {
    await put('/v1/catalog/register', {
      body: {
        ID: '7037e928-d9e8-3b58-4712-6f5ded209002',
        Node: node,
        Address: '10.0.0.1',
        TaggedAddresses: { lan: '10.0.0.1', wan: '10.0.0.1' },
        NodeMeta: { 'web-network-segment': '' },
        Service: { ID: `web-${node}`, Service: 'web', Tags: ['vmss-mesh'], Address: '10.0.0.1', Port: 8080, Meta: { 'external-source': 'vmss-mesh' } },
        Checks: [
          { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Type: 'ttl' },
          { CheckID: `web-${node}-health`, Name: 'web', Status: 'critical', Notes: 'n', Output: 'o', ServiceID: `web-${node}`, Type: 'http' },
        ],
      },
    });
  }
  await put('/v1/kv/app/config', { raw: 'value' });
  await put('/v1/kv/app/sub/key', { raw: 'value' });
}

test("the double's answers have the field names, nesting and JSON types of HashiCorp's recorded responses", async (t) => {
  const consul = await startDouble(t);
  await seedDouble(consul.url);
  const report: string[] = [];
  for (const c of COMPARISONS) {
    const templateShape = shapeOf(SEEDS.map((seed) => evaluateTemplate(c.template, seed)));
    const res = await consulHttp(consul.url, c.method, c.path, c.raw === undefined ? {} : { raw: c.raw });
    assert.equal(res.status, 200, `${c.endpoint}: ${res.text}`);
    const differences: string[] = [];
    compare(templateShape, shapeOf([res.body]), '', differences);
    const unexplained = differences.filter((d) => !(d in c.justified));
    const stale = Object.keys(c.justified).filter((d) => !differences.includes(d));
    assert.deepEqual(unexplained, [], `${c.endpoint}: differences from the template without a reason`);
    assert.deepEqual(stale, [], `${c.endpoint}: justified differences that no longer occur`);
    if (c.method === 'GET' && !c.path.startsWith('/v1/status') && !c.path.startsWith('/v1/catalog/datacenters')) {
      assert.ok(res.index > 0, `${c.endpoint}: the template's .config sends X-Consul-Index on reads`);
    }
    report.push(`compared ${c.endpoint}: ${differences.length === 0 ? 'same shape' : `${differences.length} justified difference(s)`}`);
  }
  for (const n of NOT_COMPARED) {
    const file = join(TEMPLATES, n.file);
    const usable = existsSync(file) && statSync(file).isFile() && statSync(file).size > 0;
    assert.equal(usable, false, `${n.endpoint}: ${n.file} now has a template — compare it`);
    report.push(`not compared ${n.endpoint}: ${n.why}`);
  }
  for (const line of report) t.diagnostic(line);
});

test('the template evaluation reads what the templates hold (a wrong shape in the double would be seen)', async () => {
  const shape = shapeOf(SEEDS.map((seed) => evaluateTemplate(COMPARISONS[0]!.template, seed)));
  const entry = shape.items;
  assert.ok(entry, 'health entries are an array of objects');
  assert.deepEqual([...entry.fields.keys()].sort(), ['Checks', 'Node', 'Service']);
  assert.deepEqual([...(entry.fields.get('Node')?.fields.keys() ?? [])].sort(), ['Address', 'CreateIndex', 'Datacenter', 'ID', 'Meta', 'ModifyIndex', 'Node', 'TaggedAddresses']);
  assert.ok(entry.fields.get('Service')?.fields.get('Port')?.types.has('number'));
  // A double that wrote Port as a string, or left out Checks[].Status, would differ:
  const broken = { Node: {}, Service: { Port: '8080' }, Checks: [{ CheckID: 'x' }] };
  const differences: string[] = [];
  compare(shape, shapeOf([[broken]]), '', differences);
  assert.ok(differences.includes('[].Service.Port: type string in the double, number in the template'), differences.join('\n'));
  assert.ok(differences.includes('[].Checks[].Status: only in the template'), differences.join('\n'));
});
