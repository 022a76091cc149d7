output "server_ips" {
  value = local.server_ips
}

output "http_addr" {
  description = "Consul's HTTP API (CONSUL_HTTP_ADDR) on the first server."
  value       = "http://${local.server_ips[0]}:8500"
}

output "ui_url" {
  value = "http://${local.server_ips[0]}:8500/ui/"
}

output "bootstrap_token_secret_name" {
  value = azurerm_key_vault_secret.bootstrap_token.name
}

output "app_token_secret_uri" {
  description = "Versionless secret URI of the Functions app's Consul token (for a Key Vault reference)."
  value       = azurerm_key_vault_secret.app_token.versionless_id
}

output "app_token_secret_resource_id" {
  value = azurerm_key_vault_secret.app_token.resource_versionless_id
}

output "relay_token_secret_name" {
  value = azurerm_key_vault_secret.relay_token.name
}

output "relay_token_secret_resource_id" {
  value = azurerm_key_vault_secret.relay_token.resource_versionless_id
}
