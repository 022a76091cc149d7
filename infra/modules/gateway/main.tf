# Gateways: each VM runs Envoy (listener 8080) and an xDS relay (the package's `vmss-mesh relay`).
# Envoy's bootstrap comes from the package's own generator, `vmss-mesh bootstrap envoy`, run on
# the VM before every Envoy start with the relay's address that Terraform injects (the VM's fixed
# private address and the relay port), so it always matches the relay version installed.
# A public Standard load balancer spreads port 8080 over the gateways.

locals {
  gateway_ips = [for i in range(var.gateway_count) : cidrhost(var.subnet_cidr, 10 + i)]
}

resource "azurerm_public_ip" "ingress" {
  name                = "pip-${var.name}-gateway"
  location            = var.location
  resource_group_name = var.resource_group_name
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = length(var.zones) > 0 ? var.zones : null
  tags                = var.tags
}

resource "azurerm_lb" "ingress" {
  name                = "lb-${var.name}-gateway"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = "Standard"
  tags                = var.tags

  frontend_ip_configuration {
    name                 = "public"
    public_ip_address_id = azurerm_public_ip.ingress.id
  }
}

resource "azurerm_lb_backend_address_pool" "gateways" {
  name            = "gateways"
  loadbalancer_id = azurerm_lb.ingress.id
}

resource "azurerm_lb_probe" "listener" {
  name            = "envoy-listener"
  loadbalancer_id = azurerm_lb.ingress.id
  protocol        = "Tcp"
  port            = 8080
}

resource "azurerm_lb_rule" "listener" {
  name                           = "http-8080"
  loadbalancer_id                = azurerm_lb.ingress.id
  protocol                       = "Tcp"
  frontend_port                  = 8080
  backend_port                   = 8080
  frontend_ip_configuration_name = "public"
  backend_address_pool_ids       = [azurerm_lb_backend_address_pool.gateways.id]
  probe_id                       = azurerm_lb_probe.listener.id
  disable_outbound_snat          = true # outbound goes through the subnet's NAT gateway
}

resource "azurerm_network_interface" "gateway" {
  count               = var.gateway_count
  name                = "nic-${var.name}-gateway-${count.index}"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  ip_configuration {
    name                          = "primary"
    subnet_id                     = var.subnet_id
    private_ip_address_allocation = "Static"
    private_ip_address            = local.gateway_ips[count.index]
  }
}

resource "azurerm_network_interface_backend_address_pool_association" "gateway" {
  count                   = var.gateway_count
  network_interface_id    = azurerm_network_interface.gateway[count.index].id
  ip_configuration_name   = "primary"
  backend_address_pool_id = azurerm_lb_backend_address_pool.gateways.id
}

resource "azurerm_linux_virtual_machine" "gateway" {
  count                 = var.gateway_count
  name                  = "vm-${var.name}-gateway-${count.index}"
  location              = var.location
  resource_group_name   = var.resource_group_name
  size                  = var.vm_size
  zone                  = length(var.zones) > 0 ? var.zones[count.index % length(var.zones)] : null
  admin_username        = var.admin_username
  network_interface_ids = [azurerm_network_interface.gateway[count.index].id]
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
    relay_address     = "${local.gateway_ips[count.index]}:${var.relay_port}"
    relay_port        = var.relay_port
    node_id           = "vm-${var.name}-gateway-${count.index}"
    node_cluster      = "${var.name}-gateway"
    consul_http_addr  = var.consul_http_addr
    consul_datacenter = var.consul_datacenter
    key_vault_name    = var.key_vault_name
    secret_push_token = var.secret_names.relay_push_token
    secret_consul     = var.secret_names.consul_token
    package_url       = var.package_url
    envoy_image       = var.envoy_image
    gateway_routes    = var.gateway_routes
  }))
}

resource "azurerm_role_assignment" "gateway_secrets" {
  for_each = {
    for pair in setproduct(range(var.gateway_count), range(length(var.secret_resource_ids))) : "${pair[0]}-${pair[1]}" => { gateway = pair[0], secret = pair[1] }
  }
  scope                = var.secret_resource_ids[each.value.secret]
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_linux_virtual_machine.gateway[each.value.gateway].identity[0].principal_id
}

resource "azurerm_role_assignment" "gateway_package" {
  count                = var.gateway_count
  scope                = var.package_container_id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_linux_virtual_machine.gateway[count.index].identity[0].principal_id
}
