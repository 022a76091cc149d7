output "function_app_id" {
  value = azurerm_function_app_flex_consumption.app.id
}

output "function_app_name" {
  value = azurerm_function_app_flex_consumption.app.name
}

output "default_hostname" {
  value = azurerm_function_app_flex_consumption.app.default_hostname
}

output "principal_id" {
  value = azurerm_function_app_flex_consumption.app.identity[0].principal_id
}

output "autoscale_webhook_url" {
  description = "The autoscaleWebhook function's URL with a function key; null until the code is published."
  value       = var.code_published ? "https://${azurerm_function_app_flex_consumption.app.default_hostname}/api/autoscaleWebhook?code=${data.azurerm_function_app_host_keys.app[0].default_function_key}" : null
  sensitive   = true
}
