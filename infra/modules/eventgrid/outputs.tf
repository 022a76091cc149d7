output "system_topic_id" {
  value = azurerm_eventgrid_system_topic.resource_group.id
}

output "event_subscription_names" {
  value = [for s in azurerm_eventgrid_system_topic_event_subscription.vmss_events : s.name]
}
