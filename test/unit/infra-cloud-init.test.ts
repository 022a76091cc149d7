/**
 * cloud-init templates: valid YAML as written and as Terraform renders them, exactly the
 * placeholders their templatefile() calls fill, and — for the gateway — an Envoy bootstrap that
 * comes from the project's own generator (`vmss-mesh bootstrap envoy`, run on the VM before each
 * Envoy start), checked here by running the very command line the VM runs.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import { runCliInProcess } from '../helpers/cli-run';
import { INFRA, loadAll, renderTemplate, templatefileCall, templatePlaceholders, type TerraformModule } from '../helpers/terraform-config';

interface TemplateUse {
  readonly dir: string;
  readonly file: string;
  readonly keys: readonly string[];
}

let uses: TemplateUse[] = [];
before(async () => {
  const infra: Map<string, TerraformModule> = await loadAll();
  uses = [...infra.values()].flatMap((m) => m.strings.filter((s) => s.includes('templatefile(')).map((s) => ({ dir: m.dir, ...templatefileCall(s) })));
});

const templates = (): string[] =>
  readdirSync(path.join(INFRA, 'modules'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml.tftpl'))
    .map((f) => `modules/${f}`)
    .sort();

/** Sample values as Terraform would pass them (any plain string works for these templates). */
function sampleValues(keys: readonly string[], overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const base: Record<string, string> = {
    retry_join: '["10.0.3.10","10.0.3.11","10.0.3.12"]',
    bootstrap_expect: '3',
    first_server: 'true',
    relay_address: '10.0.2.10:18000',
    relay_port: '18000',
    port: '8080',
    health_path: '/healthz',
    consul_http_addr: 'http://10.0.3.10:8500',
    package_url: 'https://stopsexample.blob.core.windows.net/packages/vmss-mesh-0123.tgz',
    gateway_routes: '',
  };
  return Object.fromEntries(keys.map((k) => [k, overrides[k] ?? base[k] ?? `sample-${k.replace(/_/g, '-')}`]));
}

function yamlOf(text: string, where: string): Record<string, unknown> {
  const document = parseDocument(text, { uniqueKeys: true, strict: true });
  assert.deepEqual(document.errors.map((e) => e.message), [], `${where}: YAML errors`);
  assert.deepEqual(document.warnings.map((e) => e.message), [], `${where}: YAML warnings`);
  const value = document.toJS() as unknown;
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${where}: a mapping`);
  return value as Record<string, unknown>;
}

function rendered(file: string, overrides: Readonly<Record<string, string>> = {}): { text: string; config: Record<string, unknown> } {
  const use = uses.find((u) => path.posix.join(u.dir, u.file) === file);
  assert.ok(use, `${file} is not used by any templatefile() call`);
  const text = renderTemplate(readFileSync(path.join(INFRA, file), 'utf8'), sampleValues(use.keys, overrides));
  return { text, config: yamlOf(text, `${file} (rendered)`) };
}

function writtenFile(config: Record<string, unknown>, filePath: string): string {
  const files = config['write_files'] as Array<{ path: string; content: string }>;
  const found = files.find((f) => f.path === filePath);
  assert.ok(found, `no write_files entry for ${filePath}`);
  return found.content;
}

describe('cloud-init templates', () => {
  test('there are cloud-init files for Consul, the gateways and the sample backend', () => {
    assert.deepEqual(templates(), ['modules/backend-vmss/sample-backend.yaml.tftpl', 'modules/consul/cloud-init.yaml.tftpl', 'modules/gateway/cloud-init.yaml.tftpl']);
  });

  test('each is valid cloud-config YAML as written and as rendered, with only ${name} placeholders', () => {
    for (const file of templates()) {
      const text = readFileSync(path.join(INFRA, file), 'utf8');
      assert.ok(text.startsWith('#cloud-config\n'), `${file}: starts with #cloud-config`);
      assert.ok(!text.includes('%{'), `${file}: no template directives (they would break the YAML)`);
      yamlOf(text, file);
      const { config } = rendered(file);
      for (const entry of config['write_files'] as Array<Record<string, unknown>>) {
        assert.equal(typeof entry['path'], 'string', file);
        assert.equal(typeof entry['content'], 'string', file);
      }
      assert.ok(Array.isArray(config['runcmd']), `${file}: runcmd is a list`);
    }
  });

  test('the placeholders are exactly the keys the templatefile() call passes', () => {
    for (const use of uses) {
      const template = readFileSync(path.join(INFRA, use.dir, use.file), 'utf8');
      assert.deepEqual([...templatePlaceholders(template)].sort(), [...use.keys].sort(), `${use.dir}/${use.file}`);
    }
    assert.equal(uses.length, 3);
  });

  test('Consul: ACLs on with default deny, tokens and gossip key from Key Vault, never in custom data', () => {
    const { text, config } = rendered('modules/consul/cloud-init.yaml.tftpl', { secret_bootstrap: 'consul-bootstrap-token' });
    const consulHcl = writtenFile(config, '/etc/consul.d/consul.hcl');
    assert.match(consulHcl, /acl \{\s*enabled\s+= true\s*default_policy\s+= "deny"/);
    assert.match(consulHcl, /retry_join\s+= \["10\.0\.3\.10","10\.0\.3\.11","10\.0\.3\.12"\]/);
    assert.match(writtenFile(config, '/usr/local/bin/vmss-mesh-consul-setup'), /boot=\$\(vmss-mesh-kv-secret consul-bootstrap-token\)/);
    assert.doesNotMatch(text, /initial_management\s*=\s*"[0-9a-f-]{36}"/, 'no literal token');
  });

  test('Consul: the relays\' policy reads the catalog and nothing else (they write nothing, read no KV)', () => {
    const { config } = rendered('modules/consul/cloud-init.yaml.tftpl', { kv_prefix: 'vmss-mesh' });
    // The whole policy, whitespace aside: any other rule (a KV prefix, `operator = "write"`, a
    // second attribute in a block) fails this.
    const policy = writtenFile(config, '/etc/consul.d/policies/vmss-mesh-relay.hcl').replace(/\s+/g, ' ').trim();
    assert.equal(policy, 'node_prefix "" { policy = "read" } service_prefix "" { policy = "read" }');
  });
});

describe('gateway: Envoy bootstrap from the project\'s own generator', () => {
  /** The generator command the VM runs, with Terraform's values in. */
  function generatorCommand(): { args: string[]; config: Record<string, unknown> } {
    const { config } = rendered('modules/gateway/cloud-init.yaml.tftpl', { relay_address: '10.0.2.11:18000', node_id: 'vm-vmssmesh-gateway-1', node_cluster: 'vmssmesh-gateway' });
    const script = writtenFile(config, '/usr/local/bin/vmss-mesh-envoy-bootstrap');
    const lines = script.split('\n').filter((line) => line.startsWith('vmss-mesh bootstrap envoy '));
    assert.equal(lines.length, 1, 'exactly one generator call');
    const [command] = (lines[0] ?? '').split(' > ');
    return { args: (command ?? '').trim().split(/\s+/).slice(1), config };
  }

  test('Envoy starts from the generated file; no hand-written bootstrap is embedded', () => {
    const { args, config } = generatorCommand();
    assert.deepEqual(args.slice(0, 2), ['bootstrap', 'envoy']);
    assert.equal(args[args.indexOf('--xds-address') + 1], '10.0.2.11:18000', 'the relay address Terraform injects');
    const unit = writtenFile(config, '/etc/systemd/system/envoy.service');
    assert.match(unit, /^ExecStartPre=\/usr\/local\/bin\/vmss-mesh-envoy-bootstrap$/m);
    assert.match(unit, /-v \/etc\/vmss-mesh\/envoy\.yaml:\/etc\/envoy\/envoy\.yaml:ro .* -c \/etc\/envoy\/envoy\.yaml$/m);
    assert.match(writtenFile(config, '/usr/local/bin/vmss-mesh-envoy-bootstrap'), /> \/etc\/vmss-mesh\/envoy\.yaml\.new\nmv \/etc\/vmss-mesh\/envoy\.yaml\.new \/etc\/vmss-mesh\/envoy\.yaml/);
    const all = JSON.stringify(config);
    for (const envoyKey of ['static_resources', 'dynamic_resources', 'ads_config']) assert.ok(!all.includes(envoyKey), `embedded Envoy config (${envoyKey})`);
  });

  test('the command line the VM runs produces a bootstrap that points Envoy at the relay', async () => {
    const { args } = generatorCommand();
    const { code, stdout, stderr } = await runCliInProcess(args, { env: {}, cwd: process.cwd() });
    assert.equal(code, 0, stderr);
    const text = JSON.stringify(parseYaml(stdout) as unknown);
    assert.ok(text.includes('10.0.2.11'), 'the relay host');
    assert.ok(text.includes('18000'), 'the relay port');
    assert.ok(text.includes('vm-vmssmesh-gateway-1'), 'the node id');
    assert.ok(text.includes('ads'), 'ADS');
  });

  test('the relay gets only settings the relay reads', async () => {
    const { config } = rendered('modules/gateway/cloud-init.yaml.tftpl');
    const env = writtenFile(config, '/usr/local/bin/vmss-mesh-relay-env');
    const names = [...env.matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] ?? '');
    assert.ok(names.length >= 5, names.join(', '));
    const { RELAY_SETTINGS } = (await import('../../src/relay/relay-config')) as { RELAY_SETTINGS: Record<string, unknown> };
    assert.deepEqual(names.filter((n) => !(n in RELAY_SETTINGS)), []);
    assert.match(env, /^VMSS_MESH_RELAY_LISTEN=0\.0\.0\.0:18000$/m);
    assert.match(env, /^VMSS_MESH_RELAY_TOKEN=\$push$/m, 'the push token comes from Key Vault');
  });
});
