/**
 * Proof that the schema check (test/helpers/schema-check) finds what a user's `terraform plan` or
 * `terraform validate` would reject: each kind of mistake, and each wrong reference between
 * resources, in a small folder of its own, reported with file and line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkTerraformDirectory, formatProblem, providerSchemas } from '../helpers/schema-check/index';
import type { ProviderSchema } from '../helpers/schema-check/provider-schema';

let schemas: Map<string, ProviderSchema>;
let dir: string;
before(() => {
  schemas = providerSchemas();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-schema-proofs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Writes `files` (path → HCL) into the folder `name` and asserts the check reports exactly
 * `expected`, each written `file:line: message` relative to that folder.
 */
async function assertProblems(name: string, files: Readonly<Record<string, string>>, expected: readonly string[]): Promise<void> {
  const root = path.join(dir, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  const problems = (await checkTerraformDirectory(root, schemas)).problems.map(formatProblem);
  assert.deepEqual(problems, expected.map((problem) => `${name}/${problem}`));
}

describe('the check finds each kind of mistake, with file and line', () => {
  const resourceGroup = (body: string) => `resource "azurerm_resource_group" "rg" {\n${body}}\n`;

  test('a correct block has no problem (the baseline the others break)', async () => {
    await assertProblems('ok', { 'main.tf': resourceGroup('  name     = "rg"\n  location = "westeurope"\n  tags     = { a = "b" }\n') }, []);
  });

  test('a misspelt attribute', async () => {
    await assertProblems('misspelt', { 'main.tf': resourceGroup('  name    = "rg"\n  locaton = "westeurope"\n') }, [
      'main.tf:1: azurerm_resource_group.rg: missing required argument location',
      'main.tf:3: azurerm_resource_group.rg: unknown argument locaton (did you mean location?)',
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
    await assertProblems('misplaced', {
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
    }, ['modules/vm/main.tf:21: azurerm_linux_virtual_machine.vm: unknown block admin_ssh_key in source_image_reference (the schema has admin_ssh_key in the top level)']);
  });

  test('missing required arguments and blocks, at the top and nested', async () => {
    await assertProblems('missing', {
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
    }, [
      'main.tf:1: azurerm_subnet.s: missing required argument virtual_network_name',
      'main.tf:15: azurerm_linux_virtual_machine.vm: missing required argument caching in os_disk',
      'modules/second/main.tf:2: azurerm_linux_virtual_machine.vm: missing required block os_disk',
    ]);
  });

  test('a computed-only attribute set, at the top and nested; id', async () => {
    await assertProblems('computed', {
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
    }, [
      'main.tf:6: azurerm_public_ip.ip: ip_address is computed-only (the provider sets it); it cannot be set',
      'main.tf:7: azurerm_public_ip.ip: id is computed-only (the provider sets it); it cannot be set',
      'main.tf:18: azurerm_virtual_network.vnet: allocated_ip_address_prefixes is computed-only in ip_address_pool (the provider sets it); it cannot be set',
    ]);
  });

  test('the same address declared twice in a module (not across modules)', async () => {
    const rg = 'resource "azurerm_resource_group" "rg" {\n  name     = "rg"\n  location = "westeurope"\n}\n';
    await assertProblems('twice', { 'a.tf': rg, 'b.tf': `\n${rg}`, 'modules/m/main.tf': rg }, ['b.tf:2: azurerm_resource_group.rg: declared twice in one module (first at twice/a.tf:1)']);
  });

  test('an unknown resource type, data source or provider', async () => {
    await assertProblems('unknown-type', {
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
    }, [
      'main.tf:1: azurerm_virtual_netwrok.vnet: azurerm 4.55.0 has no resource type azurerm_virtual_netwrok (did you mean azurerm_virtual_network?)',
      'main.tf:9: data.azurerm_subnet.s: missing required argument virtual_network_name',
      'main.tf:14: azurerm_client_config.c: azurerm 4.55.0 has no resource type azurerm_client_config (azurerm_client_config is a data source type)',
      'main.tf:16: aws_instance.x: no schema for provider aws to check against (known: azurerm, random)',
    ]);
  });

  test('block and argument syntax swapped; a second block where one is allowed', async () => {
    await assertProblems('syntax', {
      'main.tf': VM(`${OS_DISK}${OS_DISK}
  tags {
    a = "b"
  }
  boot_diagnostics = {}
`),
    }, [
      'main.tf:15: azurerm_linux_virtual_machine.vm: at most one os_disk block is allowed',
      'main.tf:20: azurerm_linux_virtual_machine.vm: tags is an argument, not a block: write tags = …',
      'main.tf:23: azurerm_linux_virtual_machine.vm: boot_diagnostics is a block: write boot_diagnostics { … }, not boot_diagnostics = …',
    ]);
  });

  test('a literal of the wrong kind; a required argument set to null', async () => {
    await assertProblems('kinds', {
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
    }, [
      'main.tf:2: azurerm_public_ip.ip: required argument name is null',
      'main.tf:6: azurerm_public_ip.ip: zones: the string "1" where a list is required',
      'main.tf:7: azurerm_public_ip.ip: idle_timeout_in_minutes: the string "four" where a number is required',
      'main.tf:8: azurerm_public_ip.ip: tags: a list where a map is required',
    ]);
  });

  test("Terraform's meta-arguments: dynamic blocks, lifecycle, count/for_each/depends_on/provider", async () => {
    await assertProblems('meta', {
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
    }, [
      'main.tf:2: azurerm_monitor_autoscale_setting.a: count and for_each cannot both be set',
      'main.tf:20: azurerm_monitor_autoscale_setting.a: dynamic "notifcation": notifcation is not known, dynamic only generates blocks (did you mean notification?)',
      'main.tf:28: azurerm_monitor_autoscale_setting.a: missing required argument service_uri in notification.webhook',
      'main.tf:29: azurerm_monitor_autoscale_setting.a: unknown argument service_url in notification.webhook (did you mean service_uri?)',
      'main.tf:36: azurerm_monitor_autoscale_setting.a: lifecycle ignore_changes: tag is not an attribute of azurerm_monitor_autoscale_setting (did you mean tags?)',
      'main.tf:43: data.azurerm_client_config.current: lifecycle: unknown argument prevent_destroy (a data block’s lifecycle holds only precondition and postcondition)',
      'main.tf:44: data.azurerm_client_config.current: lifecycle postcondition: missing error_message',
    ]);
  });
});

describe('references to resources, as terraform validate checks them', () => {
  test('undeclared, unknown attribute, instance keys, nested blocks', async () => {
    const main = `resource "azurerm_resource_group" "rg" {
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
`;
    // A module does not see its caller's resources.
    const module = 'output "x" {\n  value = azurerm_resource_group.rg.id\n}\n';
    await assertProblems('refs', { 'main.tf': main, 'modules/m/main.tf': module }, [
      'main.tf:15: azurerm_resource_group.rg: azurerm_resource_group has no attribute locaton (did you mean location?) (in azurerm_resource_group.rg.locaton)',
      'main.tf:16: azurerm_resource_group.rg: azurerm_resource_group.rg has neither count nor for_each: no instance key [0] (in azurerm_resource_group.rg[0].name)',
      'main.tf:17: azurerm_service_plan.missing: reference to azurerm_service_plan.missing, which this module does not declare (in azurerm_service_plan.missing.id)',
      'main.tf:21: azurerm_user_assigned_identity.id: azurerm_user_assigned_identity.id has count: its attributes are reached through an instance key (azurerm_user_assigned_identity.id[…].principal_id) (in azurerm_user_assigned_identity.id.principal_id)',
      'main.tf:31: azurerm_linux_function_app.app: identity of azurerm_linux_function_app is a list of blocks: reach principal_id through an index (identity[0].principal_id) (in azurerm_linux_function_app.app.identity.principal_id)',
      'main.tf:32: azurerm_linux_function_app.app: identity of azurerm_linux_function_app has no attribute principal_idd (did you mean principal_id?) (in azurerm_linux_function_app.app.identity[0].principal_idd)',
      'modules/m/main.tf:2: azurerm_resource_group.rg: reference to azurerm_resource_group.rg, which this module does not declare (in azurerm_resource_group.rg.id)',
    ]);
  });
});
