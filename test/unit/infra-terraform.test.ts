/**
 * infra/ checked offline: every `.tf` file parsed with HashiCorp's HCL parser (wasm, npm), then
 * the checks the deployment issue lists — variables declared, module inputs exist, the Functions
 * app's settings are exactly the app's, Event Grid targets a registered function with filters the
 * app's parser turns into hints, NSGs open nothing beyond the documented ports — and a few that
 * keep the parts honest (mesh tags, autoscale, Consul, least-privilege roles).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from '@cdktf/hcl2json';
import { SETTINGS } from '../../src/shared/config';
import { allFunctions } from '../../src/functions/all-functions';
import { classifyEvent, decideOperation, HINTING_OPERATIONS } from '../../src/shared/events';
import { MESH_TAGS, parseMeshTags } from '../../src/shared/azure/mesh-tags';
import { eventTypeFor, seededRandom, toEventGridEvent } from '../../src/sandbox/event-grid';
import { block, blocks, INFRA, loadAll, plainVariable, variableReferences, type Block, type TerraformModule } from '../helpers/terraform-config';

let infra: Map<string, TerraformModule>;
before(async () => {
  infra = await loadAll();
});

const mod = (dir: string): TerraformModule => {
  const found = infra.get(dir);
  if (!found) throw new Error(`no module ${dir}`);
  return found;
};
const resource = (dir: string, address: string): Block => {
  const found = mod(dir).resources.get(address);
  if (!found) throw new Error(`${dir}: no resource ${address}`);
  return found;
};
const hasDefault = (variable: Block) => Object.prototype.hasOwnProperty.call(variable, 'default');

describe('structure', () => {
  test('the modules the deployment needs are all there', () => {
    assert.deepEqual([...infra.keys()].sort(), ['.', 'modules/backend-vmss', 'modules/consul', 'modules/eventgrid', 'modules/functions', 'modules/gateway', 'modules/network']);
    assert.deepEqual([...mod('.').modules.keys()].sort(), ['backend_vmss', 'consul', 'eventgrid', 'functions', 'gateway', 'network']);
  });

  test('every variable used is declared in its module', () => {
    for (const m of infra.values()) {
      const undeclared = [...variableReferences(m.strings)].filter((name) => !m.variables.has(name));
      assert.deepEqual(undeclared, [], `${m.dir} uses undeclared variables`);
    }
  });

  test('every declared variable is used (no dead inputs)', () => {
    for (const m of infra.values()) {
      const used = variableReferences(m.strings);
      // Templates receive values through templatefile(), which is in the .tf strings too.
      const unused = [...m.variables.keys()].filter((name) => !used.has(name));
      assert.deepEqual(unused, [], `${m.dir} declares unused variables`);
    }
  });

  test('every module input exists, and every required input is given', () => {
    const meta = new Set(['source', 'depends_on', 'count', 'for_each', 'providers', 'version']);
    for (const caller of infra.values()) {
      for (const [name, call] of caller.modules) {
        const source = String(call['source']);
        const target = mod(path.posix.normalize(path.posix.join(caller.dir, source)));
        const inputs = Object.keys(call).filter((k) => !meta.has(k));
        const unknown = inputs.filter((k) => !target.variables.has(k));
        assert.deepEqual(unknown, [], `module ${name} (${source}) has no such inputs`);
        const missing = [...target.variables].filter(([k, v]) => !hasDefault(v) && !inputs.includes(k)).map(([k]) => k);
        assert.deepEqual(missing, [], `module ${name} (${source}) misses required inputs`);
      }
    }
  });

  test('module outputs used by the root exist', () => {
    const root = mod('.');
    for (const s of root.strings) {
      for (const match of s.matchAll(/module\.([a-z_]+)\.([a-z_]+)/g)) {
        const call = root.modules.get(match[1] ?? '');
        assert.ok(call, `no module ${match[1]}`);
        const target = mod(path.posix.normalize(String(call['source'])));
        assert.ok(target.outputs.has(match[2] ?? ''), `module ${match[1]} has no output ${match[2]}`);
      }
    }
  });

  test('terraform.tfvars.example sets only declared variables, and every required one', async () => {
    const example = (await parse('terraform.tfvars.example', readFileSync(path.join(INFRA, 'terraform.tfvars.example'), 'utf8'))) as Record<string, unknown>;
    const root = mod('.');
    assert.deepEqual(Object.keys(example).filter((k) => !root.variables.has(k)), []);
    assert.deepEqual([...root.variables].filter(([k, v]) => !hasDefault(v) && !(k in example)).map(([k]) => k), []);
  });

  test('the root outputs the gateway address, the Consul UI and the status URL', () => {
    const outputs = mod('.').outputs;
    for (const name of ['gateway_address', 'consul_ui', 'status_url', 'dead_letter_container_url']) assert.ok(outputs.has(name), name);
    assert.match(String(outputs.get('status_url')?.['value']), /\/api\/status"?\}?$/);
  });
});

describe('functions module', () => {
  /**
   * Host and platform settings allowed next to the app's own. Flex Consumption sets the runtime
   * itself (FUNCTIONS_WORKER_RUNTIME is not allowed there) and the provider writes Application
   * Insights from its dedicated argument; the host's storage has no argument on the Flex
   * Consumption resource, so the module sets the identity-based AzureWebJobsStorage* settings.
   */
  const ALLOWED_PLATFORM_SETTINGS = new Set([
    'FUNCTIONS_WORKER_RUNTIME',
    'AzureWebJobsStorage__accountName',
    'AzureWebJobsStorage__credential',
    'APPLICATIONINSIGHTS_CONNECTION_STRING',
    'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  ]);

  test('app settings are exactly the settings the app reads (no missing, no unknown)', () => {
    const fn = mod('modules/functions');
    const app = resource('modules/functions', 'azurerm_function_app_flex_consumption.app');
    assert.equal(app['app_settings'], '${local.app_settings}');
    const settings = fn.locals['app_settings'] as Record<string, unknown>;
    const names = Object.keys(settings);
    const appSettings = Object.keys(SETTINGS);
    assert.deepEqual(appSettings.filter((s) => !names.includes(s)), [], 'missing');
    assert.deepEqual(names.filter((n) => !appSettings.includes(n) && !ALLOWED_PLATFORM_SETTINGS.has(n)), [], 'unknown');
  });

  test('secrets are Key Vault references; emulator-only settings stay empty', () => {
    const settings = mod('modules/functions').locals['app_settings'] as Record<string, unknown>;
    assert.equal(settings['CONSUL_HTTP_TOKEN'], '@Microsoft.KeyVault(SecretUri=${var.consul_token_secret_uri})');
    assert.equal(settings['VMSS_MESH_RELAY_TOKEN'], '@Microsoft.KeyVault(SecretUri=${var.relay_token_secret_uri})');
    for (const name of ['VMSS_MESH_ARM_TOKEN', 'VMSS_MESH_ARM_CA_FILE', 'AZURE_CLIENT_ID']) assert.equal(settings[name], '', name);
    assert.equal(settings['VMSS_MESH_ARM_ENDPOINT'], 'https://management.azure.com');
  });

  test('the host gets its runtime and Application Insights from the dedicated arguments, its storage through the identity', () => {
    const app = resource('modules/functions', 'azurerm_function_app_flex_consumption.app');
    assert.equal(app['runtime_name'], 'node');
    assert.equal(app['runtime_version'], '20');
    assert.equal(app['storage_authentication_type'], 'SystemAssignedIdentity');
    const settings = mod('modules/functions').locals['app_settings'] as Record<string, unknown>;
    // No AzureWebJobsStorage: an empty connection string keeps the host from starting.
    assert.equal('AzureWebJobsStorage' in settings, false);
    assert.match(String(settings['AzureWebJobsStorage__accountName']), /azurerm_storage_account\.app\.name/);
    assert.equal(settings['AzureWebJobsStorage__credential'], 'managedidentity');
    assert.match(String(block(app, 'site_config')['application_insights_connection_string']), /azurerm_application_insights\.app\.connection_string/);
    assert.equal(block(app, 'identity')['type'], 'SystemAssigned');
    assert.equal(resource('modules/functions', 'azurerm_service_plan.app')['sku_name'], 'FC1');
  });

  test('the identity may only read: scale sets, their VMs and NICs', () => {
    const role = resource('modules/functions', 'azurerm_role_definition.scale_set_reader');
    const actions = block(role, 'permissions')['actions'] as string[];
    assert.ok(actions.length > 0);
    for (const action of actions) assert.match(action, /^Microsoft\.(Compute|Network|Resources)\/[A-Za-z/]+\/read$/, action);
    for (const needed of ['Microsoft.Compute/virtualMachineScaleSets/read', 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read', 'Microsoft.Compute/virtualMachines/read', 'Microsoft.Network/networkInterfaces/read']) {
      assert.ok(actions.includes(needed), needed);
    }
    const assignments = [...mod('modules/functions').resources].filter(([k]) => k.startsWith('azurerm_role_assignment.')).map(([, v]) => v['role_definition_name'] ?? v['role_definition_id']);
    assert.ok(!assignments.includes('Reader') && !assignments.includes('Contributor'), `broad roles: ${assignments.join(', ')}`);
  });

  test('the autoscale webhook targets the app\'s autoscaleWebhook HTTP route', () => {
    const definition = allFunctions({}).find((d) => d.name === 'autoscaleWebhook');
    assert.ok(definition && definition.kind === 'http');
    const route = definition.options.route ?? definition.name;
    const url = String(mod('modules/functions').outputs.get('autoscale_webhook_url')?.['value']);
    assert.ok(url.includes(`/api/${route}?code=`), url);
    // … and the backend scale set's autoscale setting notifies exactly that URL.
    const call = mod('.').modules.get('backend_vmss');
    assert.equal(call?.['autoscale_webhook_url'], '${module.functions.autoscale_webhook_url}');
    const notification = blocks(block(resource('modules/backend-vmss', 'azurerm_monitor_autoscale_setting.cpu'), 'dynamic'), 'notification')[0];
    assert.equal(block(block(notification, 'content'), 'webhook')['service_uri'], '${var.autoscale_webhook_url}');
  });
});

describe('eventgrid module', () => {
  const SUBSCRIPTION = '00000000-0000-0000-0000-0000000000e9';
  const RESOURCE_GROUP = 'rg-vmssmesh';

  /** A resource URI of the kind the operation acts on, e.g. `…/virtualMachineScaleSets/web/virtualMachines/3`. */
  function resourceUriFor(operationName: string): string {
    const [namespace, ...rest] = operationName.split('/');
    const types = rest.slice(0, rest[rest.length - 1] === 'action' ? -2 : -1);
    const path = types.map((type, i) => {
      const name = type === 'virtualMachineScaleSets' ? 'web' : type === 'virtualMachines' ? (types[i - 1] === 'virtualMachineScaleSets' ? '3' : 'web_1a2b3c4d') : 'HealthExtension';
      return `${type}/${name}`;
    });
    return `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/${namespace}/${path.join('/')}`;
  }

  const subscription = () => resource('modules/eventgrid', 'azurerm_eventgrid_system_topic_event_subscription.vmss_events');
  const filteredOperations = () => mod('modules/eventgrid').locals['subscriptions'] as Record<string, string[]>;

  test('the subscriptions deliver to vmssEvents, an Event Grid function the app registers', () => {
    const endpoint = block(subscription(), 'azure_function_endpoint');
    const target = /^\$\{var\.function_app_id\}\/functions\/([A-Za-z0-9_-]+)$/.exec(String(endpoint['function_id']))?.[1];
    const registered = allFunctions({}).filter((d) => d.kind === 'eventGrid').map((d) => d.name);
    assert.ok(target && registered.includes(target), `${target} not in ${registered.join(', ')}`);
    assert.equal(target, 'vmssEvents');
    assert.equal(mod('.').modules.get('eventgrid')?.['function_app_id'], '${module.functions.function_app_id}');
    const topic = resource('modules/eventgrid', 'azurerm_eventgrid_system_topic.resource_group');
    assert.equal(topic['topic_type'], 'Microsoft.Resources.ResourceGroups');
  });

  test('each filtered operation, as a sample event of an included type, becomes a reconcile hint', () => {
    const sub = subscription();
    assert.equal(sub['for_each'], '${var.enabled ? local.subscriptions : {}}');
    assert.equal(sub['included_event_types'], '${local.included_event_types}');
    const includedTypes = mod('modules/eventgrid').locals['included_event_types'] as string[];
    const filter = block(block(sub, 'advanced_filter'), 'string_in');
    assert.equal(filter['key'], 'data.operationName');
    assert.equal(filter['values'], '${each.value}');
    const random = seededRandom(5);
    let checked = 0;
    const typesUsed = new Set<string>();
    for (const [name, operations] of Object.entries(filteredOperations())) {
      assert.ok(operations.length <= 25, `${name}: Event Grid allows 25 advanced filter values per subscription, got ${operations.length}`);
      for (const operationName of operations) {
        assert.equal(decideOperation(operationName), 'hint', operationName);
        const operation = { operationName, resourceUri: resourceUriFor(operationName), subscriptionId: SUBSCRIPTION, resourceGroup: RESOURCE_GROUP, status: 'Succeeded' as const, correlationId: `c-${checked}`, eventTime: '2025-06-01T12:00:00Z' };
        const eventType = eventTypeFor(operation);
        assert.ok(includedTypes.includes(eventType), `${operationName}: ${eventType} is not included`);
        typesUsed.add(eventType);
        const outcome = classifyEvent(toEventGridEvent(operation, random), { scope: { subscriptions: [SUBSCRIPTION], resourceGroups: [RESOURCE_GROUP] } });
        assert.equal(outcome.kind, 'hint', `${operationName}: ${outcome.kind === 'ignored' ? `${outcome.reason} ${outcome.detail}` : outcome.kind}`);
        checked += 1;
      }
    }
    assert.deepEqual([...typesUsed].sort(), [...includedTypes].sort(), 'every included event type carries a filtered operation');
  });

  test('every operation the app acts on is subscribed (nothing the parser hints on is filtered out)', () => {
    const subscribed = new Set(Object.values(filteredOperations()).flat().map((op) => op.toLowerCase()));
    const hinting = Object.entries(HINTING_OPERATIONS).flatMap(([typePath, verbs]) => verbs.map((verb) => `microsoft.compute/${typePath}/${verb}`));
    assert.deepEqual(hinting.filter((op) => !subscribed.has(op)), []);
    assert.equal(subscribed.size, Object.values(filteredOperations()).flat().length, 'no operation is listed twice');
  });

  test('retry policy and dead-lettering to a blob container', () => {
    const sub = subscription();
    const retry = block(sub, 'retry_policy');
    assert.equal(plainVariable(retry['max_delivery_attempts']), 'max_delivery_attempts');
    assert.equal(plainVariable(retry['event_time_to_live']), 'event_time_to_live_minutes');
    const variables = mod('modules/eventgrid').variables;
    assert.equal(variables.get('max_delivery_attempts')?.['default'], 30);
    assert.equal(variables.get('event_time_to_live_minutes')?.['default'], 1440);
    const deadLetter = block(sub, 'storage_blob_dead_letter_destination');
    assert.equal(plainVariable(deadLetter['storage_blob_container_name']), 'dead_letter_container_name');
    assert.equal(block(sub, 'dead_letter_identity')['type'], 'SystemAssigned');
    assert.equal(mod('.').modules.get('eventgrid')?.['dead_letter_container_name'], '${azurerm_storage_container.deadletter.name}');
  });
});

describe('network module: NSGs open nothing beyond the documented ports', () => {
  /**
   * Per NSG, what may be allowed inbound: destination port tokens and where from. The relay port
   * (xDS and the push API share the relay's gRPC port) is also open from the Functions subnet
   * for pushes; backends accept their service ports from the gateways (the traffic itself).
   */
  const ALLOWED: Record<string, Record<string, readonly string[]>> = {
    gateway: {
      '8080': ['${var.gateway_ingress_cidrs}', 'AzureLoadBalancer'],
      '${var.relay_port}': ['${local.subnet_cidrs.gateway}', '${local.subnet_cidrs.functions}'],
    },
    control_plane: {
      '8500': ['${var.address_space}'],
      '8502': ['${var.address_space}'],
      '8300-8302': ['${var.address_space}'],
    },
    backends: { '${var.backend_service_ports}': ['${local.subnet_cidrs.gateway}'] },
    functions: {},
  };

  test('every inbound allow is on the list; every NSG ends with deny-all', () => {
    for (const [nsg, allowed] of Object.entries(ALLOWED)) {
      const rules = blocks(resource('modules/network', `azurerm_network_security_group.${nsg}`), 'security_rule');
      for (const rule of rules) {
        const name = String(rule['name']);
        assert.equal(rule['direction'], 'Inbound', `${nsg}/${name}: only inbound rules`);
        if (rule['access'] === 'Deny') continue;
        const ports = rule['destination_port_ranges'] ?? rule['destination_port_range'];
        const portTokens = typeof ports === 'string' ? [ports] : (ports as string[]);
        const sources = rule['source_address_prefixes'] ?? rule['source_address_prefix'];
        const sourceTokens = typeof sources === 'string' ? [sources] : (sources as string[]);
        for (const port of portTokens) {
          const from = allowed[port];
          assert.ok(from, `${nsg}/${name}: port ${port} is not on the list`);
          for (const source of sourceTokens) assert.ok(from.includes(source), `${nsg}/${name}: port ${port} from ${source} is not on the list`);
        }
      }
      const deny = rules.find((r) => r['access'] === 'Deny');
      assert.ok(deny, `${nsg}: no deny-all`);
      assert.deepEqual([deny['priority'], deny['source_address_prefix'], deny['destination_port_range'], deny['protocol']], [4096, '*', '*', '*'], `${nsg}: deny-all`);
      assert.ok(rules.every((r) => r === deny || Number(r['priority']) < 4096), `${nsg}: allows come before the deny`);
      assert.equal(resource('modules/network', `azurerm_subnet_network_security_group_association.${nsg}`)['network_security_group_id'], `\${azurerm_network_security_group.${nsg}.id}`);
    }
  });

  test('the ports behind the variables are the relay port and the mesh service port', () => {
    const network = mod('modules/network');
    assert.equal(network.variables.get('relay_port')?.['default'], 18000);
    const call = mod('.').modules.get('network');
    assert.equal(call?.['relay_port'], '${var.relay_port}');
    assert.deepEqual(call?.['backend_service_ports'], ['${var.mesh_service_port}']);
    assert.equal(mod('.').variables.get('relay_port')?.['default'], 18000);
    assert.equal(network.variables.get('address_space')?.['default'], '10.0.0.0/16');
    assert.equal(mod('.').modules.get('gateway')?.['relay_port'], '${var.relay_port}');
  });

  test('subnets for backends, gateway, control plane and the Functions app\'s VNet integration', () => {
    const functions = resource('modules/network', 'azurerm_subnet.functions');
    assert.equal(block(block(functions, 'delegation'), 'service_delegation')['name'], 'Microsoft.App/environments');
    for (const subnet of ['backends', 'gateway', 'control_plane']) assert.ok(mod('modules/network').resources.has(`azurerm_subnet.${subnet}`), subnet);
  });
});

describe('backend-vmss module', () => {
  test('both orchestration modes carry the mesh tags, the health extension and a terminate notification', () => {
    const backend = mod('modules/backend-vmss');
    const meshTags = backend.locals['mesh_tags'] as Record<string, string>;
    const healthTag = /"(vmss-mesh-health-path)"\s*=/.exec(String(backend.locals['mesh_health_tag']))?.[1];
    const documented = new Set<string>(Object.values(MESH_TAGS));
    for (const name of [...Object.keys(meshTags), healthTag]) assert.ok(name && documented.has(name), `undocumented tag ${name}`);
    assert.equal(backend.locals['tags'], '${merge(var.tags, local.mesh_tags, local.mesh_health_tag)}');
    // The tag values, filled in as Terraform would for the defaults, are what the app parses.
    const sample: Record<string, string> = { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080', 'vmss-mesh-protocol': 'http', 'vmss-mesh-health-path': '/healthz' };
    for (const [name, expression] of Object.entries(meshTags)) assert.match(expression, /^\$\{(tostring\()?var\.mesh_service\.(name|port|protocol)\)?\}$/, name);
    assert.deepEqual(parseMeshTags(sample), { ok: true, services: [{ name: 'web', port: 8080, protocol: 'http', healthPath: '/healthz' }] });

    for (const address of ['azurerm_linux_virtual_machine_scale_set.uniform', 'azurerm_orchestrated_virtual_machine_scale_set.flexible']) {
      const vmss = resource('modules/backend-vmss', address);
      assert.equal(vmss['tags'], '${local.tags}', address);
      const extension = block(vmss, 'extension');
      assert.deepEqual([extension['publisher'], extension['type']], ['Microsoft.ManagedServices', 'ApplicationHealthLinux'], address);
      const termination = block(vmss, 'termination_notification');
      assert.equal(termination['enabled'], true, address);
      assert.equal(termination['timeout'], '${var.drain_timeout}', address);
    }
    assert.match(String(resource('modules/backend-vmss', 'azurerm_linux_virtual_machine_scale_set.uniform')['count']), /var\.orchestration_mode == "Uniform"/);
    assert.match(String(resource('modules/backend-vmss', 'azurerm_orchestrated_virtual_machine_scale_set.flexible')['count']), /var\.orchestration_mode == "Flexible"/);
  });

  test('autoscale: out above 75 % CPU over 5 minutes, in below 25 %', () => {
    const profile = block(resource('modules/backend-vmss', 'azurerm_monitor_autoscale_setting.cpu'), 'profile');
    const rules = blocks(profile, 'rule').map((rule) => {
      const trigger = block(rule, 'metric_trigger');
      return [trigger['metric_name'], trigger['operator'], trigger['threshold'], trigger['time_window'], block(rule, 'scale_action')['direction']];
    });
    assert.deepEqual(rules, [
      ['Percentage CPU', 'GreaterThan', 75, 'PT5M', 'Increase'],
      ['Percentage CPU', 'LessThan', 25, 'PT5M', 'Decrease'],
    ]);
  });
});

describe('consul module', () => {
  test('1 or 3 servers; the bootstrap token and the app\'s token live in Key Vault', () => {
    const consul = mod('modules/consul');
    const validation = block(consul.variables.get('server_count'), 'validation');
    assert.equal(validation['condition'], '${contains([1, 3], var.server_count)}');
    for (const secret of ['bootstrap_token', 'app_token', 'relay_token', 'gossip_key']) {
      const kv = resource('modules/consul', `azurerm_key_vault_secret.${secret}`);
      assert.equal(kv['key_vault_id'], '${var.key_vault_id}', secret);
    }
    assert.equal(mod('.').modules.get('functions')?.['consul_token_secret_uri'], '${module.consul.app_token_secret_uri}');
  });
});
