import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatGatewayRoutes, parseGatewayRoutes } from '../../src/relay/inputs/gateway-routes-setting';
import type { GatewayRoute } from '../../src/relay/mesh-state';
import { validateGatewayRoutes } from '../../src/relay/resources/gateway-routes';
import { ConfigError } from '../../src/shared/errors';

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const service = fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
const host = fc.oneof(
  fc.constant(undefined),
  fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')),
  fc.array(label, { minLength: 1, maxLength: 2 }).map((l) => `*.${l.join('.')}`),
);
const pathPrefix = fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/), { maxLength: 3 }).map((segments) => `/${segments.join('/')}`);
const route: fc.Arbitrary<GatewayRoute> = fc.record({ host, pathPrefix, service }).map((r) => (r.host === undefined ? { pathPrefix: r.pathPrefix, service: r.service } : { host: r.host, pathPrefix: r.pathPrefix, service: r.service }));
const routes = fc.uniqueArray(route, { maxLength: 8, selector: (r) => `${r.host ?? '*'} ${r.pathPrefix}` });

describe('VMSS_MESH_GATEWAY_ROUTES syntax', () => {
  test('format then parse gives the same rules back, and the route builder accepts them', () => {
    fc.assert(
      fc.property(routes, (rs) => {
        const parsed = parseGatewayRoutes(formatGatewayRoutes(rs));
        assert.deepEqual(parsed, rs);
        assert.deepEqual(validateGatewayRoutes(parsed), []);
      }),
    );
  });

  test('spaces around rules and `*` as host are the same as no host; hosts are lower-cased', () => {
    fc.assert(
      fc.property(routes, (rs) => {
        const spaced = rs.map((r) => ` ${r.host === undefined ? '*' : r.host.toUpperCase()}${r.pathPrefix} = ${r.service} `).join(',');
        assert.deepEqual(parseGatewayRoutes(spaced), rs);
      }),
    );
  });

  test('any string either parses into rules the builder accepts or is refused with a ConfigError naming the setting', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (raw) => {
        try {
          assert.deepEqual(validateGatewayRoutes(parseGatewayRoutes(raw)), []);
        } catch (error) {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /^VMSS_MESH_GATEWAY_ROUTES: /);
        }
      }),
    );
  });

  test('a repeated host and path prefix is refused, naming both rules', () => {
    fc.assert(
      fc.property(route, service, fc.uniqueArray(route, { maxLength: 3, selector: (r) => `${r.host ?? '*'} ${r.pathPrefix}` }), (first, other, middle) => {
        const key = (r: GatewayRoute) => `${r.host ?? '*'} ${r.pathPrefix}`;
        const rules = [first, ...middle.filter((m) => key(m) !== key(first)), { ...first, service: other }];
        assert.throws(() => parseGatewayRoutes(formatGatewayRoutes(rules)), new RegExp(`rule ${rules.length} .*: same host and path prefix as rule 1$`));
      }),
    );
  });

  test('examples and messages', () => {
    assert.deepEqual(parseGatewayRoutes(''), []);
    assert.deepEqual(parseGatewayRoutes('admin.example.com=admin,/static=assets'), [
      { host: 'admin.example.com', pathPrefix: '/', service: 'admin' },
      { pathPrefix: '/static', service: 'assets' },
    ]);
    const refused: Array<[string, string]> = [
      ['/=web,', 'rule 2 (""): empty rule (stray comma?)'],
      ['web', 'rule 1 ("web"): expected [HOST]/PATH=SERVICE or HOST=SERVICE'],
      ['=web', 'rule 1 ("=web"): expected [HOST]/PATH=SERVICE or HOST=SERVICE'],
      ['/=', 'rule 1 ("/="): "" is not a service name (1–63 lower-case letters, digits and "-", starting with a letter, not ending with "-")'],
      ['a b/=web', 'rule 1 ("a b/=web"): host: "a b" may only hold letters, digits, ".", "-", "_" and a leading or trailing "*" (no port: the gateway strips it)'],
      ['example.com:8080/=web', 'rule 1 ("example.com:8080/=web"): host: "example.com:8080" may only hold letters, digits, ".", "-", "_" and a leading or trailing "*" (no port: the gateway strips it)'],
      ['/a b=web', 'rule 1 ("/a b=web"): pathPrefix: "/a b" must start with "/" and hold only URL path characters'],
    ];
    for (const [raw, message] of refused) {
      assert.throws(() => parseGatewayRoutes(raw), (e: unknown) => e instanceof ConfigError && e.message === `VMSS_MESH_GATEWAY_ROUTES: ${message}`, raw);
    }
  });
});
