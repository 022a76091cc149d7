output "vnet_id" {
  value = azurerm_virtual_network.mesh.id
}

output "subnet_ids" {
  value = {
    backends      = azurerm_subnet.backends.id
    gateway       = azurerm_subnet.gateway.id
    control_plane = azurerm_subnet.control_plane.id
    functions     = azurerm_subnet.functions.id
  }
}

output "subnet_cidrs" {
  value = local.subnet_cidrs
}
