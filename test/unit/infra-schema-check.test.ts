/**
 * infra/ against the provider schemas (azurerm 4.55.0, random 3.7.2) read from the CDK for
 * Terraform provider packages, without Terraform or a network. The proof that the check finds
 * what a user's `terraform plan` would reject is in infra-schema-check-proofs.test.ts.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { checkTerraformDirectory, formatProblem, providerSchemas } from '../helpers/schema-check/index';
import { outlineHcl } from '../helpers/schema-check/hcl-locator';
import type { ProviderSchema } from '../helpers/schema-check/provider-schema';
import { INFRA } from '../helpers/terraform-config';

let schemas: Map<string, ProviderSchema>;
let loadMs = 0;
before(() => {
  const started = performance.now();
  schemas = providerSchemas();
  loadMs = performance.now() - started;
});

const azurerm = () => schemas.get('azurerm') as ProviderSchema;

describe('the schema the check reads', () => {
  test('azurerm 4.55.0 and random 3.7.2, with their resource types', (t) => {
    t.diagnostic(`provider schemas loaded in ${loadMs.toFixed(0)} ms`);
    assert.equal(azurerm().version, '4.55.0');
    assert.equal(azurerm().source, 'registry.terraform.io/hashicorp/azurerm');
    assert.equal(schemas.get('random')?.version, '3.7.2');
    assert.ok(Object.keys(azurerm().resources).length > 1000);
    assert.ok(azurerm().dataSources['azurerm_client_config']);
    assert.ok(schemas.get('random')?.resources['random_password']);
    // The reader's assumptions about the generated docs held everywhere (no guessed names).
    for (const schema of schemas.values()) assert.deepEqual(schema.doubts, { unanchored: [], withoutConfig: [] }, schema.origin);
  });

  test('required, at-most-one and computed-only are read from the .jsii', () => {
    const vm = azurerm().resources['azurerm_linux_virtual_machine'];
    assert.ok(vm);
    assert.deepEqual(vm.attributes['size'], { required: true, kind: 'string' });
    assert.deepEqual(vm.attributes['custom_data'], { required: false, kind: 'string' });
    assert.deepEqual(vm.attributes['zone'], { required: false, kind: 'string' });
    assert.equal(vm.attributes['vtpm_enabled']?.kind, 'bool');
    assert.equal(vm.attributes['max_bid_price']?.kind, 'number');
    assert.equal(vm.attributes['network_interface_ids']?.kind, 'list');
    assert.equal(vm.attributes['tags']?.kind, 'map');
    assert.equal(vm.blocks['os_disk']?.required, true);
    assert.equal(vm.blocks['os_disk']?.maxOne, true);
    assert.equal(vm.blocks['admin_ssh_key']?.maxOne, false);
    assert.equal(vm.blocks['os_disk']?.body.attributes['caching']?.required, true);
    assert.equal(vm.blocks['os_disk']?.body.attributes['storage_account_type']?.required, false);
    assert.ok(vm.computed.includes('private_ip_address'));
    // The SDKv2 `id` is optional in the CDK's Config but set by the provider.
    assert.ok(vm.computed.includes('id'));
    assert.equal(vm.attributes['id'], undefined);
    // A list-of-objects argument (ConfigModeAttr) is not a block-only item.
    assert.equal(azurerm().resources['azurerm_virtual_network']?.blocks['subnet']?.syntax, 'attribute');
    assert.equal(schemas.get('random')?.resources['random_password']?.attributes['length']?.required, true);
    assert.ok(schemas.get('random')?.resources['random_uuid']?.computed.includes('result'));
  });
});

function tfFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? tfFiles(full) : entry.endsWith('.tf') ? [full] : [];
  });
}

describe('infra/', () => {
  test('every resource, data and provider block passes the schema check', async (t) => {
    const started = performance.now();
    const result = await checkTerraformDirectory(INFRA, schemas);
    t.diagnostic(`checked ${result.checked.resource} resources, ${result.checked.data} data sources, ${result.checked.provider} provider block(s) of ${result.types.size} types in ${(performance.now() - started).toFixed(0)} ms`);
    assert.deepEqual(result.problems.map(formatProblem), []);
    // Counted independently of the checker: every block header in the text was checked.
    const text = tfFiles(INFRA).map((f) => readFileSync(f, 'utf8')).join('\n');
    assert.equal(result.checked.resource, text.match(/^\s*resource\s+"/gm)?.length);
    assert.equal(result.checked.data, text.match(/^\s*data\s+"/gm)?.length);
    assert.equal(result.checked.provider, text.match(/^\s*provider\s+"/gm)?.length);
  });

  test('every versions.tf admits the provider versions the check reads', async () => {
    for (const file of tfFiles(INFRA).filter((f) => path.basename(f) === 'versions.tf')) {
      const parsed = (await parse(file, readFileSync(file, 'utf8'))) as { terraform?: { required_providers?: Record<string, { source?: string; version?: string }>[] }[] };
      const providers = parsed.terraform?.[0]?.required_providers?.[0] ?? {};
      assert.ok(Object.keys(providers).length > 0, `${file}: no required_providers`);
      for (const [name, requirement] of Object.entries(providers)) {
        const schema = schemas.get(name);
        assert.ok(schema, `${file}: provider ${name} has no schema to check against`);
        assert.equal(`registry.terraform.io/${requirement.source}`, schema.source, `${file}: ${name} source`);
        assert.ok(requirement.version, `${file}: ${name} has no version constraint`);
        assert.ok(admits(requirement.version, schema.version), `${file}: ${name} "${requirement.version}" does not admit ${schema.version}, the version checked`);
      }
    }
  });
});

/** Terraform version constraints (`~> 4.55`, `>= 1.2, < 2`) for plain x.y.z versions. */
function admits(constraints: string, version: string): boolean {
  const parts = (v: string) => v.split('.').map(Number);
  const compare = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  const have = parts(version);
  return constraints.split(',').every((constraint) => {
    const match = /^\s*(~>|>=|<=|>|<|=|!=)?\s*([0-9.]+)\s*$/.exec(constraint);
    if (!match) throw new Error(`unreadable constraint ${constraint}`);
    const [, op = '=', v = ''] = match;
    const want = parts(v);
    const c = compare(have, want);
    if (op === '~>') {
      // ~> 4.55 allows 4.x >= 4.55; ~> 4.55.1 allows 4.55.x >= 4.55.1.
      const upper = want.slice(0, Math.max(1, want.length - 1));
      upper[upper.length - 1] = (upper[upper.length - 1] ?? 0) + 1;
      return c >= 0 && compare(have, upper) < 0;
    }
    return { '>=': c >= 0, '<=': c <= 0, '>': c > 0, '<': c < 0, '=': c === 0, '!=': c !== 0 }[op] ?? false;
  });
}

describe('locator', () => {
  test('lines survive heredocs, templates, comments and one-line blocks', () => {
    const text = `# resource "not" "this" {
/* block {
} */
locals {
  a = "\${jsonencode({ x = "}" })} {"
  b = <<-EOT
    resource "inside" "heredoc" {
    }
  EOT
  c = {
    for k, v in var.m : k => v if v == "=" # }
  }
  d = "$\${not_interpolated"
}
resource "x" "y" { one = 1 }
resource "x" "z" {
  inner {
    deep = [
      1,
    ]
  }
}
`;
    const outline = outlineHcl('t.tf', text);
    assert.deepEqual(
      outline.blocks.map((b) => [b.type, ...b.labels, b.line]),
      [['locals', 4], ['resource', 'x', 'y', 15], ['resource', 'x', 'z', 16]],
    );
    assert.deepEqual([...(outline.blocks[0]?.body.attributes ?? [])], [['a', 5], ['b', 6], ['c', 10], ['d', 13]]);
    assert.deepEqual([...(outline.blocks[1]?.body.attributes ?? [])], [['one', 15]]);
    const inner = outline.blocks[2]?.body.blocks[0];
    assert.equal(inner?.line, 17);
    assert.deepEqual([...(inner?.body.attributes ?? [])], [['deep', 18]]);
  });
});
