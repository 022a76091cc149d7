# Resource events of the resource group → the app's `vmssEvents` function, filtered to the
# successful operations the app's event parser turns into reconcile hints
# (src/shared/events/operation-policy.ts), retried by Event Grid, and dead-lettered to a blob
# container (`vmss-mesh deadletter replay` re-drives them).
#
# Event Grid allows 25 advanced-filter values per subscription, and the app acts on more
# operations than that, so there are two subscriptions: scale sets (and their extensions), and
# instances (Uniform instances and Flexible-mode VMs). The same function receives both.

locals {
  # Successful writes, deletes and actions: failed or canceled operations changed nothing the
  # app could act on (it ignores them), and the timer re-lists anyway.
  included_event_types = [
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
    "Microsoft.Resources.ResourceActionSuccess",
  ]

  subscriptions = {
    "scale-sets" = [
      "Microsoft.Compute/virtualMachineScaleSets/write",
      "Microsoft.Compute/virtualMachineScaleSets/delete",
      "Microsoft.Compute/virtualMachineScaleSets/delete/action",
      "Microsoft.Compute/virtualMachineScaleSets/start/action",
      "Microsoft.Compute/virtualMachineScaleSets/powerOff/action",
      "Microsoft.Compute/virtualMachineScaleSets/restart/action",
      "Microsoft.Compute/virtualMachineScaleSets/deallocate/action",
      "Microsoft.Compute/virtualMachineScaleSets/reimage/action",
      "Microsoft.Compute/virtualMachineScaleSets/reimageAll/action",
      "Microsoft.Compute/virtualMachineScaleSets/redeploy/action",
      "Microsoft.Compute/virtualMachineScaleSets/performMaintenance/action",
      "Microsoft.Compute/virtualMachineScaleSets/manualUpgrade/action",
      "Microsoft.Compute/virtualMachineScaleSets/scale/action",
      "Microsoft.Compute/virtualMachineScaleSets/osRollingUpgrade/action",
      "Microsoft.Compute/virtualMachineScaleSets/extensionRollingUpgrade/action",
      "Microsoft.Compute/virtualMachineScaleSets/approveRollingUpgrade/action",
      "Microsoft.Compute/virtualMachineScaleSets/extensions/write",
      "Microsoft.Compute/virtualMachineScaleSets/extensions/delete",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions/write",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions/delete",
      "Microsoft.Compute/virtualMachines/extensions/write",
      "Microsoft.Compute/virtualMachines/extensions/delete",
    ]
    "instances" = [
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/start/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/powerOff/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/deallocate/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimage/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimageAll/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/redeploy/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/performMaintenance/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/approveRollingUpgrade/action",
      "Microsoft.Compute/virtualMachines/write",
      "Microsoft.Compute/virtualMachines/delete",
      "Microsoft.Compute/virtualMachines/start/action",
      "Microsoft.Compute/virtualMachines/powerOff/action",
      "Microsoft.Compute/virtualMachines/restart/action",
      "Microsoft.Compute/virtualMachines/deallocate/action",
      "Microsoft.Compute/virtualMachines/reimage/action",
      "Microsoft.Compute/virtualMachines/redeploy/action",
      "Microsoft.Compute/virtualMachines/performMaintenance/action",
      "Microsoft.Compute/virtualMachines/simulateEviction/action",
    ]
  }
}

resource "azurerm_eventgrid_system_topic" "resource_group" {
  name                = "egst-${var.name}"
  location            = "global"
  resource_group_name = var.resource_group_name
  source_resource_id  = var.resource_group_id
  topic_type          = "Microsoft.Resources.ResourceGroups"
  tags                = var.tags

  identity {
    type = "SystemAssigned"
  }
}

# The topic writes dead letters with its own identity (no storage keys).
resource "azurerm_role_assignment" "dead_letter_writer" {
  scope                = "${var.dead_letter_storage_account_id}/blobServices/default/containers/${var.dead_letter_container_name}"
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_eventgrid_system_topic.resource_group.identity[0].principal_id
}

resource "azurerm_eventgrid_system_topic_event_subscription" "vmss_events" {
  for_each            = var.enabled ? local.subscriptions : {}
  name                = "vmss-events-${each.key}"
  system_topic        = azurerm_eventgrid_system_topic.resource_group.name
  resource_group_name = var.resource_group_name

  event_delivery_schema = "EventGridSchema"
  included_event_types  = local.included_event_types

  azure_function_endpoint {
    function_id          = "${var.function_app_id}/functions/vmssEvents"
    max_events_per_batch = 1
  }

  advanced_filter {
    string_in {
      key    = "data.operationName"
      values = each.value
    }
  }

  retry_policy {
    max_delivery_attempts = var.max_delivery_attempts
    event_time_to_live    = var.event_time_to_live_minutes
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = var.dead_letter_storage_account_id
    storage_blob_container_name = var.dead_letter_container_name
  }

  depends_on = [azurerm_role_assignment.dead_letter_writer]
}
