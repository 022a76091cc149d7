/**
 * infra/ against the provider schemas (azurerm 4.55.0, random 3.7.2) read from the CDK for
 * Terraform provider packages, without Terraform or a network; and proof that the check finds
 * what a user's `terraform plan` would reject: each kind of mistake in a small file of its own,
 * reported with file and line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { checkTerraformDirectory, formatProblem, providerSchemas } from './schema-check/index';
import { outlineHcl } from './schema-check/hcl-locator';
import type { ProviderSchema } from './schema-check/provider-schema';
import { INFRA } from './terraform-config';

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

describe('the check finds each kind of mistake, with file and line', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tf-schema-check-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `files` (path → HCL) into a fresh folder and returns the formatted problems. */
  const check = async (name: string, files: Record<string, string>): Promise<string[]> => {
    const root = path.join(dir, name);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    }
    return (await checkTerraformDirectory(root, schemas)).problems.map(formatProblem);
  };

  const resourceGroup = (body: string) => `resource "azurerm_resource_group" "rg" {\n${body}}\n`;

  test('a correct block has no problem (the baseline the others break)', async () => {
    assert.deepEqual(await check('ok', { 'main.tf': resourceGroup('  name     = "rg"\n  location = "westeurope"\n  tags     = { a = "b" }\n') }), []);
  });

  test('a misspelt attribute', async () => {
    const problems = await check('misspelt', { 'main.tf': resourceGroup('  name    = "rg"\n  locaton = "westeurope"\n') });
    assert.deepEqual(problems, [
      'misspelt/main.tf:1: azurerm_resource_group.rg: missing required argument location',
      'misspelt/main.tf:3: azurerm_resource_group.rg: unknown argument locaton (did you mean location?)',
    ]);
  });

  const VM = (inner: string) => `# a VM
resource "azurerm_linux_virtual_machine" "vm" {
  name                  = "vm"
  resource_group_name   = "rg"
  location              = "westeurope"
  size                  = "Standard_B2s"
  admin_username        = "azureuser"
  network_interface_ids = []
${inner}}
`;
  const OS_DISK = `
  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Standard_LRS"
  }
`;

  test('a misplaced block (valid elsewhere in the resource), in a module folder', async () => {
    const problems = await check('misplaced', {
      'modules/vm/main.tf': VM(`${OS_DISK}
  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"

    admin_ssh_key {
      username   = "azureuser"
      public_key = "ssh-ed25519 AAAA"
    }
  }
`),
    });
    assert.deepEqual(problems, ['misplaced/modules/vm/main.tf:21: azurerm_linux_virtual_machine.vm: unknown block admin_ssh_key in source_image_reference (the schema has admin_ssh_key in the top level)']);
  });

  test('missing required arguments and blocks, at the top and nested', async () => {
    const problems = await check('missing', {
      'main.tf': `resource "azurerm_subnet" "s" {
  name                 = "s"
  resource_group_name  = "rg"
  address_prefixes     = ["10.0.0.0/24"]
}
${VM(`
  os_disk {
    storage_account_type = "Standard_LRS"
  }
`)}`,
      'modules/second/main.tf': VM(''),
    });
    assert.deepEqual(problems, [
      'missing/main.tf:1: azurerm_subnet.s: missing required argument virtual_network_name',
      'missing/main.tf:15: azurerm_linux_virtual_machine.vm: missing required argument caching in os_disk',
      'missing/modules/second/main.tf:2: azurerm_linux_virtual_machine.vm: missing required block os_disk',
    ]);
  });

  test('a computed-only attribute set, at the top and nested; id', async () => {
    const problems = await check('computed', {
      'main.tf': `resource "azurerm_public_ip" "ip" {
  name                = "ip"
  resource_group_name = "rg"
  location            = "westeurope"
  allocation_method   = "Static"
  ip_address          = "10.0.0.1"
  id                  = "x"
}

resource "azurerm_virtual_network" "vnet" {
  name                = "vnet"
  resource_group_name = "rg"
  location            = "westeurope"

  ip_address_pool {
    id                            = "pool"
    number_of_ip_addresses        = "256"
    allocated_ip_address_prefixes = ["10.0.0.0/24"]
  }
}
`,
    });
    assert.deepEqual(problems, [
      'computed/main.tf:6: azurerm_public_ip.ip: ip_address is computed-only (the provider sets it); it cannot be set',
      'computed/main.tf:7: azurerm_public_ip.ip: id is computed-only (the provider sets it); it cannot be set',
      'computed/main.tf:18: azurerm_virtual_network.vnet: allocated_ip_address_prefixes is computed-only in ip_address_pool (the provider sets it); it cannot be set',
    ]);
  });

  test('the same address declared twice in a module (not across modules)', async () => {
    const rg = 'resource "azurerm_resource_group" "rg" {\n  name     = "rg"\n  location = "westeurope"\n}\n';
    const problems = await check('twice', { 'a.tf': rg, 'b.tf': `\n${rg}`, 'modules/m/main.tf': rg });
    assert.deepEqual(problems, ['twice/b.tf:2: azurerm_resource_group.rg: declared twice in one module (first at twice/a.tf:1)']);
  });

  test('an unknown resource type, data source or provider', async () => {
    const problems = await check('unknown-type', {
      'main.tf': `resource "azurerm_virtual_netwrok" "vnet" {
  name = "vnet"
}

data "azurerm_resource_group" "rg" {
  name = "rg"
}

data "azurerm_subnet" "s" {
  name                = "s"
  resource_group_name = "rg"
}

resource "azurerm_client_config" "c" {}

resource "aws_instance" "x" {}
`,
    });
    assert.deepEqual(problems, [
      'unknown-type/main.tf:1: azurerm_virtual_netwrok.vnet: azurerm 4.55.0 has no resource type azurerm_virtual_netwrok (did you mean azurerm_virtual_network?)',
      'unknown-type/main.tf:9: data.azurerm_subnet.s: missing required argument virtual_network_name',
      'unknown-type/main.tf:14: azurerm_client_config.c: azurerm 4.55.0 has no resource type azurerm_client_config (azurerm_client_config is a data source type)',
      'unknown-type/main.tf:16: aws_instance.x: no schema for provider aws to check against (known: azurerm, random)',
    ]);
  });

  test('block and argument syntax swapped; a second block where one is allowed', async () => {
    const problems = await check('syntax', {
      'main.tf': VM(`${OS_DISK}${OS_DISK}
  tags {
    a = "b"
  }
  boot_diagnostics = {}
`),
    });
    assert.deepEqual(problems, [
      'syntax/main.tf:15: azurerm_linux_virtual_machine.vm: at most one os_disk block is allowed',
      'syntax/main.tf:20: azurerm_linux_virtual_machine.vm: tags is an argument, not a block: write tags = …',
      'syntax/main.tf:23: azurerm_linux_virtual_machine.vm: boot_diagnostics is a block: write boot_diagnostics { … }, not boot_diagnostics = …',
    ]);
  });

  test('a literal of the wrong kind; a required argument set to null', async () => {
    const problems = await check('kinds', {
      'main.tf': `resource "azurerm_public_ip" "ip" {
  name                    = null
  resource_group_name     = "rg"
  location                = "westeurope"
  allocation_method       = "Static"
  zones                   = "1"
  idle_timeout_in_minutes = "four"
  tags                    = ["a"]
  domain_name_label       = "\${var.label}"
  ip_tags                 = { a = "b" }
  sku                     = 1
}
`,
    });
    assert.deepEqual(problems, [
      'kinds/main.tf:2: azurerm_public_ip.ip: required argument name is null',
      'kinds/main.tf:6: azurerm_public_ip.ip: zones: the string "1" where a list is required',
      'kinds/main.tf:7: azurerm_public_ip.ip: idle_timeout_in_minutes: the string "four" where a number is required',
      'kinds/main.tf:8: azurerm_public_ip.ip: tags: a list where a map is required',
    ]);
  });

  test("Terraform's meta-arguments: dynamic blocks, lifecycle, count/for_each/depends_on/provider", async () => {
    const problems = await check('meta', {
      'main.tf': `resource "azurerm_monitor_autoscale_setting" "a" {
  for_each            = toset([]) # and count
  count               = 1
  depends_on          = []
  provider            = azurerm
  name                = "a"
  location            = "westeurope"
  resource_group_name = "rg"
  target_resource_id  = "x"

  profile {
    name = "p"
    capacity {
      minimum = 1
      default = 1
      maximum = 2
    }
  }

  dynamic "notifcation" {
    for_each = []
    content {}
  }

  dynamic "notification" {
    for_each = [1]
    content {
      webhook {
        service_url = "https://example.com/"
      }
    }
  }

  lifecycle {
    create_before_destroy = true
    ignore_changes        = [tag, profile]
  }
}

data "azurerm_client_config" "current" {
  for_each = toset([])
  lifecycle {
    prevent_destroy = true
    postcondition {
      condition = true
    }
  }
}
`,
    });
    assert.deepEqual(problems, [
      'meta/main.tf:2: azurerm_monitor_autoscale_setting.a: count and for_each cannot both be set',
      'meta/main.tf:20: azurerm_monitor_autoscale_setting.a: dynamic "notifcation": notifcation is not known, dynamic only generates blocks (did you mean notification?)',
      'meta/main.tf:28: azurerm_monitor_autoscale_setting.a: missing required argument service_uri in notification.webhook',
      'meta/main.tf:29: azurerm_monitor_autoscale_setting.a: unknown argument service_url in notification.webhook (did you mean service_uri?)',
      'meta/main.tf:36: azurerm_monitor_autoscale_setting.a: lifecycle ignore_changes: tag is not an attribute of azurerm_monitor_autoscale_setting (did you mean tags?)',
      'meta/main.tf:43: data.azurerm_client_config.current: lifecycle: unknown argument prevent_destroy (a data block’s lifecycle holds only precondition and postcondition)',
      'meta/main.tf:44: data.azurerm_client_config.current: lifecycle postcondition: missing error_message',
    ]);
  });
});

describe('references to resources, as terraform validate checks them', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tf-schema-refs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('undeclared, unknown attribute, instance keys, nested blocks', async () => {
    mkdirSync(path.join(dir, 'refs', 'modules', 'm'), { recursive: true });
    writeFileSync(
      path.join(dir, 'refs', 'main.tf'),
      `resource "azurerm_resource_group" "rg" {
  name     = "rg"
  location = "westeurope"
}

resource "azurerm_user_assigned_identity" "id" {
  count               = 2
  name                = "id-\${count.index}"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
}

resource "azurerm_linux_function_app" "app" {
  name                 = "app"
  location             = azurerm_resource_group.rg.locaton
  resource_group_name  = azurerm_resource_group.rg[0].name
  service_plan_id      = azurerm_service_plan.missing.id
  storage_account_name = "st"
  # azurerm_user_assigned_identity.id.principal_id in a comment is not a reference
  tags = {
    a = azurerm_user_assigned_identity.id.principal_id
    b = azurerm_user_assigned_identity.id[0].principal_id
    c = azurerm_user_assigned_identity.id[*].client_id
    d = length(azurerm_user_assigned_identity.id)
  }
  site_config {}
}

output "ids" {
  value = [
    azurerm_linux_function_app.app.identity.principal_id,
    azurerm_linux_function_app.app.identity[0].principal_idd,
    azurerm_linux_function_app.app.identity[0].principal_id,
    azurerm_linux_function_app.app.site_config[0].always_on,
  ]
}
`,
    );
    // A module does not see its caller's resources.
    writeFileSync(path.join(dir, 'refs', 'modules', 'm', 'main.tf'), 'output "x" {\n  value = azurerm_resource_group.rg.id\n}\n');
    const problems = (await checkTerraformDirectory(path.join(dir, 'refs'), schemas)).problems.map(formatProblem);
    assert.deepEqual(problems, [
      'refs/main.tf:15: azurerm_resource_group.rg: azurerm_resource_group has no attribute locaton (did you mean location?) (in azurerm_resource_group.rg.locaton)',
      'refs/main.tf:16: azurerm_resource_group.rg: azurerm_resource_group.rg has neither count nor for_each: no instance key [0] (in azurerm_resource_group.rg[0].name)',
      'refs/main.tf:17: azurerm_service_plan.missing: reference to azurerm_service_plan.missing, which this module does not declare (in azurerm_service_plan.missing.id)',
      'refs/main.tf:21: azurerm_user_assigned_identity.id: azurerm_user_assigned_identity.id has count: its attributes are reached through an instance key (azurerm_user_assigned_identity.id[…].principal_id) (in azurerm_user_assigned_identity.id.principal_id)',
      'refs/main.tf:31: azurerm_linux_function_app.app: identity of azurerm_linux_function_app is a list of blocks: reach principal_id through an index (identity[0].principal_id) (in azurerm_linux_function_app.app.identity.principal_id)',
      'refs/main.tf:32: azurerm_linux_function_app.app: identity of azurerm_linux_function_app has no attribute principal_idd (did you mean principal_id?) (in azurerm_linux_function_app.app.identity[0].principal_idd)',
      'refs/modules/m/main.tf:2: azurerm_resource_group.rg: reference to azurerm_resource_group.rg, which this module does not declare (in azurerm_resource_group.rg.id)',
    ]);
  });
});

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
