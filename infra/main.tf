# vmss-mesh on Azure: network, Consul, gateways (Envoy + xDS relay), the backend scale set, the
# Functions app and Event Grid, wired together. See README.md in this folder for the order of
# the steps (two applies around publishing the app).

data "azurerm_client_config" "current" {}

resource "random_string" "suffix" {
  length  = 6
  upper   = false
  special = false
}

locals {
  # Globally unique names (storage accounts, Key Vault, the Function App) get the suffix.
  unique = "${var.name}${random_string.suffix.result}"
}

resource "azurerm_resource_group" "mesh" {
  name     = "rg-${var.name}"
  location = var.location
  tags     = var.tags
}

# --- secrets: Key Vault with RBAC; only the identities that need a secret can read it ----------

resource "azurerm_key_vault" "mesh" {
  name                       = "kv-${local.unique}"
  location                   = azurerm_resource_group.mesh.location
  resource_group_name        = azurerm_resource_group.mesh.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  soft_delete_retention_days = 7
  tags                       = var.tags
}

# Whoever runs Terraform writes the secrets.
resource "azurerm_role_assignment" "deployer_secrets" {
  scope                = azurerm_key_vault.mesh.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# The token the relays require on pushes (VMSS_MESH_RELAY_TOKEN on both sides).
resource "random_password" "relay_push_token" {
  length  = 40
  special = false
}

resource "azurerm_key_vault_secret" "relay_push_token" {
  name         = "relay-push-token"
  value        = random_password.relay_push_token.result
  key_vault_id = azurerm_key_vault.mesh.id
  depends_on   = [azurerm_role_assignment.deployer_secrets]
}

# --- operations storage: Event Grid's dead letters and the package the gateways install --------

resource "azurerm_storage_account" "ops" {
  name                            = "stops${local.unique}"
  location                        = azurerm_resource_group.mesh.location
  resource_group_name             = azurerm_resource_group.mesh.name
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  shared_access_key_enabled       = false
  allow_nested_items_to_be_public = false
  tags                            = var.tags
}

resource "azurerm_role_assignment" "deployer_ops_blobs" {
  scope                = azurerm_storage_account.ops.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_storage_container" "packages" {
  name                  = "packages"
  storage_account_id    = azurerm_storage_account.ops.id
  container_access_type = "private"
}

resource "azurerm_storage_blob" "package" {
  name                   = "vmss-mesh-${filemd5(var.vmss_mesh_package)}.tgz"
  storage_account_name   = azurerm_storage_account.ops.name
  storage_container_name = azurerm_storage_container.packages.name
  type                   = "Block"
  source                 = var.vmss_mesh_package
  content_md5            = filemd5(var.vmss_mesh_package)
  depends_on             = [azurerm_role_assignment.deployer_ops_blobs]
}

resource "azurerm_storage_container" "deadletter" {
  name                  = "deadletter"
  storage_account_id    = azurerm_storage_account.ops.id
  container_access_type = "private"
}

# --- the parts ------------------------------------------------------------------------------

module "network" {
  source = "./modules/network"

  name                  = var.name
  location              = azurerm_resource_group.mesh.location
  resource_group_name   = azurerm_resource_group.mesh.name
  gateway_ingress_cidrs = var.gateway_ingress_cidrs
  relay_port            = var.relay_port
  backend_service_ports = [var.mesh_service_port]
  tags                  = var.tags
}

module "consul" {
  source = "./modules/consul"

  name                 = var.name
  location             = azurerm_resource_group.mesh.location
  resource_group_name  = azurerm_resource_group.mesh.name
  subnet_id            = module.network.subnet_ids.control_plane
  subnet_cidr          = module.network.subnet_cidrs.control_plane
  zones                = var.zones
  server_count         = var.consul_server_count
  vm_size              = var.consul_vm_size
  consul_version       = var.consul_version
  datacenter           = var.consul_datacenter
  admin_username       = var.admin_username
  admin_ssh_public_key = var.admin_ssh_public_key
  key_vault_id         = azurerm_key_vault.mesh.id
  key_vault_name       = azurerm_key_vault.mesh.name
  kv_prefix            = "vmss-mesh"
  tags                 = var.tags

  depends_on = [azurerm_role_assignment.deployer_secrets]
}

module "gateway" {
  source = "./modules/gateway"

  name                 = var.name
  location             = azurerm_resource_group.mesh.location
  resource_group_name  = azurerm_resource_group.mesh.name
  subnet_id            = module.network.subnet_ids.gateway
  subnet_cidr          = module.network.subnet_cidrs.gateway
  zones                = var.zones
  gateway_count        = var.gateway_count
  vm_size              = var.gateway_vm_size
  admin_username       = var.admin_username
  admin_ssh_public_key = var.admin_ssh_public_key
  relay_port           = var.relay_port
  envoy_image          = var.envoy_image
  gateway_routes       = var.gateway_routes
  consul_http_addr     = module.consul.http_addr
  consul_datacenter    = var.consul_datacenter
  key_vault_name       = azurerm_key_vault.mesh.name
  secret_names         = { relay_push_token = azurerm_key_vault_secret.relay_push_token.name, consul_token = module.consul.relay_token_secret_name }
  secret_resource_ids  = [azurerm_key_vault_secret.relay_push_token.resource_versionless_id, module.consul.relay_token_secret_resource_id]
  package_url          = azurerm_storage_blob.package.url
  package_container_id = azurerm_storage_container.packages.id
  tags                 = var.tags
}

module "functions" {
  source = "./modules/functions"

  name                    = var.name
  unique_name             = local.unique
  location                = azurerm_resource_group.mesh.location
  resource_group_name     = azurerm_resource_group.mesh.name
  subnet_id               = module.network.subnet_ids.functions
  reader_scope_ids        = [azurerm_resource_group.mesh.id]
  scope_subscription_ids  = [var.subscription_id]
  scope_resource_groups   = [azurerm_resource_group.mesh.name]
  consul_http_addr        = module.consul.http_addr
  consul_datacenter       = var.consul_datacenter
  consul_token_secret_uri = module.consul.app_token_secret_uri
  consul_token_secret_id  = module.consul.app_token_secret_resource_id
  relay_addresses         = module.gateway.relay_addresses
  relay_token_secret_uri  = azurerm_key_vault_secret.relay_push_token.versionless_id
  relay_token_secret_id   = azurerm_key_vault_secret.relay_push_token.resource_versionless_id
  kv_prefix               = "vmss-mesh"
  log_level               = var.app_log_level
  reconcile_schedule      = var.reconcile_schedule
  max_removal_share       = var.max_removal_share
  code_published          = var.functions_code_published
  alert_action_group_ids  = var.alert_action_group_ids
  tags                    = var.tags
}

module "backend_vmss" {
  source = "./modules/backend-vmss"

  name                      = "${var.name}-${var.mesh_service_name}"
  location                  = azurerm_resource_group.mesh.location
  resource_group_name       = azurerm_resource_group.mesh.name
  subnet_id                 = module.network.subnet_ids.backends
  zones                     = var.zones
  orchestration_mode        = var.backend_orchestration_mode
  vm_size                   = var.backend_vm_size
  admin_username            = var.admin_username
  admin_ssh_public_key      = var.admin_ssh_public_key
  instances                 = var.backend_instances
  mesh_service              = { name = var.mesh_service_name, port = var.mesh_service_port, protocol = var.mesh_service_protocol, health_path = var.mesh_service_health_path }
  autoscale_webhook_enabled = var.functions_code_published
  autoscale_webhook_url     = module.functions.autoscale_webhook_url
  tags                      = var.tags
}

module "eventgrid" {
  source = "./modules/eventgrid"

  name                           = var.name
  resource_group_name            = azurerm_resource_group.mesh.name
  resource_group_id              = azurerm_resource_group.mesh.id
  function_app_id                = module.functions.function_app_id
  enabled                        = var.functions_code_published
  dead_letter_storage_account_id = azurerm_storage_account.ops.id
  dead_letter_container_name     = azurerm_storage_container.deadletter.name
  tags                           = var.tags
}
