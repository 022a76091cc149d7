output "gateway_address" {
  description = "Where the mesh is served: the gateway load balancer's public address (Envoy on 8080)."
  value       = "http://${module.gateway.public_ip_address}:8080"
}

output "consul_ui" {
  description = "Consul's UI (private address: reach it from the virtual network, e.g. through Bastion or a VPN). Log in with the bootstrap token from Key Vault."
  value       = module.consul.ui_url
}

output "consul_bootstrap_token_secret" {
  description = "Key Vault secret holding Consul's bootstrap (management) token: az keyvault secret show --vault-name <vault> --name <this>."
  value       = module.consul.bootstrap_token_secret_name
}

output "status_url" {
  description = "The app's status function (needs a function key: ?code=..., see `az functionapp keys list`)."
  value       = "https://${module.functions.default_hostname}/api/status"
}

output "function_app_name" {
  description = "Publish the app here: func azure functionapp publish <this>."
  value       = module.functions.function_app_name
}

output "dead_letter_container_url" {
  description = "Where Event Grid dead-letters events: vmss-mesh deadletter replay --container <this>."
  value       = "${azurerm_storage_account.ops.primary_blob_endpoint}${azurerm_storage_container.deadletter.name}"
}

output "resource_group_name" {
  value = azurerm_resource_group.mesh.name
}

output "key_vault_name" {
  value = azurerm_key_vault.mesh.name
}
