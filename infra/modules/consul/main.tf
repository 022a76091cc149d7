# Consul servers on Linux VMs. ACLs on with default deny. Terraform makes the secrets and keeps
# them in Key Vault only: the bootstrap (management) token, the gossip key, the Functions app's
# token and the relays' token. The VMs read them at boot with their managed identity, so no
# secret ever sits in custom data. The first server creates the app's and the relay's policies
# and tokens (with the secret IDs from Key Vault) once the cluster has a leader.

locals {
  server_ips = [for i in range(var.server_count) : cidrhost(var.subnet_cidr, 10 + i)]
  secrets = {
    bootstrap_token = "consul-bootstrap-token"
    gossip_key      = "consul-gossip-key"
    app_token       = "consul-vmss-mesh-app-token"
    relay_token     = "consul-vmss-mesh-relay-token"
  }
}

resource "random_uuid" "bootstrap_token" {}

resource "random_uuid" "app_token" {}

resource "random_uuid" "relay_token" {}

resource "random_id" "gossip_key" {
  byte_length = 32
}

resource "azurerm_key_vault_secret" "bootstrap_token" {
  name         = local.secrets.bootstrap_token
  value        = random_uuid.bootstrap_token.result
  key_vault_id = var.key_vault_id
}

resource "azurerm_key_vault_secret" "gossip_key" {
  name         = local.secrets.gossip_key
  value        = random_id.gossip_key.b64_std
  key_vault_id = var.key_vault_id
}

resource "azurerm_key_vault_secret" "app_token" {
  name         = local.secrets.app_token
  value        = random_uuid.app_token.result
  key_vault_id = var.key_vault_id
}

resource "azurerm_key_vault_secret" "relay_token" {
  name         = local.secrets.relay_token
  value        = random_uuid.relay_token.result
  key_vault_id = var.key_vault_id
}

resource "azurerm_network_interface" "server" {
  count               = var.server_count
  name                = "nic-${var.name}-consul-${count.index}"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  ip_configuration {
    name                          = "primary"
    subnet_id                     = var.subnet_id
    private_ip_address_allocation = "Static"
    private_ip_address            = local.server_ips[count.index]
  }
}

resource "azurerm_linux_virtual_machine" "server" {
  count                 = var.server_count
  name                  = "vm-${var.name}-consul-${count.index}"
  location              = var.location
  resource_group_name   = var.resource_group_name
  size                  = var.vm_size
  zone                  = length(var.zones) > 0 ? var.zones[count.index % length(var.zones)] : null
  admin_username        = var.admin_username
  network_interface_ids = [azurerm_network_interface.server[count.index].id]
  tags                  = var.tags

  admin_ssh_key {
    username   = var.admin_username
    public_key = var.admin_ssh_public_key
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Premium_LRS"
  }

  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }

  identity {
    type = "SystemAssigned"
  }

  custom_data = base64encode(templatefile("${path.module}/cloud-init.yaml.tftpl", {
    consul_version   = var.consul_version
    datacenter       = var.datacenter
    bootstrap_expect = var.server_count
    retry_join       = jsonencode(local.server_ips)
    first_server     = count.index == 0 ? "true" : "false"
    key_vault_name   = var.key_vault_name
    secret_bootstrap = local.secrets.bootstrap_token
    secret_gossip    = local.secrets.gossip_key
    secret_app       = local.secrets.app_token
    secret_relay     = local.secrets.relay_token
    kv_prefix        = var.kv_prefix
  }))
}

# Each server reads exactly the four secrets above, nothing else in the vault.
resource "azurerm_role_assignment" "server_secrets" {
  for_each = {
    for pair in setproduct(range(var.server_count), keys(local.secrets)) : "${pair[0]}-${pair[1]}" => { server = pair[0], secret = pair[1] }
  }
  scope = {
    bootstrap_token = azurerm_key_vault_secret.bootstrap_token.resource_versionless_id
    gossip_key      = azurerm_key_vault_secret.gossip_key.resource_versionless_id
    app_token       = azurerm_key_vault_secret.app_token.resource_versionless_id
    relay_token     = azurerm_key_vault_secret.relay_token.resource_versionless_id
  }[each.value.secret]
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_linux_virtual_machine.server[each.value.server].identity[0].principal_id
}
