output "public_ip_address" {
  value = azurerm_public_ip.ingress.ip_address
}

output "gateway_ips" {
  value = local.gateway_ips
}

output "relay_addresses" {
  description = "host:port of every relay's push API (VMSS_MESH_RELAY_ADDRESSES)."
  value       = [for ip in local.gateway_ips : "${ip}:${var.relay_port}"]
}
