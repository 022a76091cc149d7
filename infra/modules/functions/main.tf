# The Functions app (Flex Consumption, Node 20) with its storage, Application Insights, VNet
# integration and a system-assigned identity that may only read scale sets, VMs and NICs.
# Its app settings are exactly the settings the app reads (src/shared/config.ts SETTINGS);
# secrets are Key Vault references. Application Insights comes from its dedicated argument, the
# host's storage from the AzureWebJobsStorage* settings (the resource has no argument for it);
# Flex Consumption sets the runtime itself: no FUNCTIONS_WORKER_RUNTIME app setting.

locals {
  app_settings = {
    VMSS_MESH_SUBSCRIPTIONS             = join(",", var.scope_subscription_ids)
    VMSS_MESH_RESOURCE_GROUPS           = join(",", var.scope_resource_groups)
    VMSS_MESH_ARM_ENDPOINT              = "https://management.azure.com"
    VMSS_MESH_ARM_TOKEN                 = "" # the ARM emulator's; in Azure the managed identity is used
    VMSS_MESH_ARM_CA_FILE               = ""
    AZURE_CLIENT_ID                     = "" # system-assigned identity: no client ID
    CONSUL_HTTP_ADDR                    = var.consul_http_addr
    CONSUL_HTTP_TOKEN                   = "@Microsoft.KeyVault(SecretUri=${var.consul_token_secret_uri})"
    CONSUL_DATACENTER                   = var.consul_datacenter
    CONSUL_CACERT                       = ""
    CONSUL_CLIENT_CERT                  = ""
    CONSUL_CLIENT_KEY                   = ""
    CONSUL_TLS_SERVER_NAME              = ""
    CONSUL_HTTP_SSL_VERIFY              = "true"
    VMSS_MESH_KV_PREFIX                 = var.kv_prefix
    VMSS_MESH_TXN_BATCH_SIZE            = "64"
    VMSS_MESH_MAX_REMOVAL_SHARE         = var.max_removal_share
    VMSS_MESH_TOMBSTONE_TTL_SECONDS     = "600"
    VMSS_MESH_RECONCILE_SCHEDULE        = var.reconcile_schedule
    VMSS_MESH_DELIVERY_DEADLINE_SECONDS = "20"
    VMSS_MESH_RELAY_ADDRESSES           = join(",", var.relay_addresses)
    VMSS_MESH_RELAY_TOKEN               = "@Microsoft.KeyVault(SecretUri=${var.relay_token_secret_uri})"
    VMSS_MESH_RELAY_TLS                 = "false"
    VMSS_MESH_RELAY_TIMEOUT_MS          = "2000"
    VMSS_MESH_LOG_LEVEL                 = var.log_level

    # The host's own storage through the system-assigned identity (the documented pair). No
    # AzureWebJobsStorage at all: an empty one is a connection string the host tries and fails to
    # start with (Azure/azure-functions-host#11796). Known provider bug, not fixable here: azurerm
    # 4.x adds a key-less AzureWebJobsStorage itself when the storage authentication is an identity
    # (hashicorp/terraform-provider-azurerm#29693, #30732); docs/deploy.md says how to remove it.
    AzureWebJobsStorage__accountName = azurerm_storage_account.app.name
    AzureWebJobsStorage__credential  = "managedidentity"
  }
}

resource "azurerm_storage_account" "app" {
  name                            = "stfn${var.unique_name}"
  location                        = var.location
  resource_group_name             = var.resource_group_name
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  shared_access_key_enabled       = false
  allow_nested_items_to_be_public = false
  tags                            = var.tags
}

resource "azurerm_storage_container" "deployments" {
  name                  = "deployments"
  storage_account_id    = azurerm_storage_account.app.id
  container_access_type = "private"
}

resource "azurerm_log_analytics_workspace" "app" {
  name                = "log-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = var.tags
}

resource "azurerm_application_insights" "app" {
  name                = "appi-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  workspace_id        = azurerm_log_analytics_workspace.app.id
  application_type    = "Node.JS"
  tags                = var.tags
}

resource "azurerm_service_plan" "app" {
  name                = "asp-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = var.tags
}

resource "azurerm_function_app_flex_consumption" "app" {
  name                = "func-${var.unique_name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  service_plan_id     = azurerm_service_plan.app.id

  runtime_name           = "node"
  runtime_version        = "20"
  maximum_instance_count = var.maximum_instance_count
  instance_memory_in_mb  = 2048

  # The deployment package through the managed identity. The host's own storage (timer
  # singleton leases) has no argument on this resource: see AzureWebJobsStorage* in app_settings.
  storage_container_type      = "blobContainer"
  storage_container_endpoint  = "${azurerm_storage_account.app.primary_blob_endpoint}${azurerm_storage_container.deployments.name}"
  storage_authentication_type = "SystemAssignedIdentity"

  virtual_network_subnet_id = var.subnet_id
  app_settings              = local.app_settings
  tags                      = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.app.connection_string
  }
}

resource "azurerm_role_assignment" "app_storage" {
  scope                = azurerm_storage_account.app.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_function_app_flex_consumption.app.identity[0].principal_id
}

# The least the app needs from ARM: read scale sets, their instances and instance views, plain
# (Flexible) VMs, and network interfaces. Reader would also expose every other resource.
resource "azurerm_role_definition" "scale_set_reader" {
  name              = "vmss-mesh scale set reader (${var.unique_name})"
  scope             = var.reader_scope_ids[0]
  description       = "Read VM scale sets, their VMs and network interfaces (vmss-mesh)."
  assignable_scopes = var.reader_scope_ids

  permissions {
    actions = [
      "Microsoft.Resources/subscriptions/resourceGroups/read",
      "Microsoft.Compute/virtualMachineScaleSets/read",
      "Microsoft.Compute/virtualMachineScaleSets/instanceView/read",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read",
      "Microsoft.Compute/virtualMachineScaleSets/networkInterfaces/read",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces/read",
      "Microsoft.Compute/virtualMachines/read",
      "Microsoft.Compute/virtualMachines/instanceView/read",
      "Microsoft.Network/networkInterfaces/read",
    ]
    not_actions = []
  }
}

resource "azurerm_role_assignment" "app_scale_set_reader" {
  count              = length(var.reader_scope_ids)
  scope              = var.reader_scope_ids[count.index]
  role_definition_id = azurerm_role_definition.scale_set_reader.role_definition_resource_id
  principal_id       = azurerm_function_app_flex_consumption.app.identity[0].principal_id
}

# Key Vault references: the app may read its two secrets, nothing else.
resource "azurerm_role_assignment" "app_secrets" {
  for_each             = { consul = var.consul_token_secret_id, relay = var.relay_token_secret_id }
  scope                = each.value
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_function_app_flex_consumption.app.identity[0].principal_id
}

# Function keys exist once the code is published; the autoscale webhook carries one.
data "azurerm_function_app_host_keys" "app" {
  count               = var.code_published ? 1 : 0
  name                = azurerm_function_app_flex_consumption.app.name
  resource_group_name = var.resource_group_name
}
