# The backend scale set, Uniform or Flexible, carrying the mesh tags that make vmss-mesh register
# its instances (docs/mesh-tags.md), the Application Health extension (the app reads its state),
# a terminate notification (instances being removed drain for drain_timeout), and an autoscale
# setting: out above 75 % CPU over 5 minutes, in below 25 %, each scale action notifying the
# app's autoscaleWebhook so Consul follows within seconds.

locals {
  # docs/mesh-tags.md: one value per tag.
  mesh_tags = {
    "vmss-mesh-service"  = var.mesh_service.name
    "vmss-mesh-port"     = tostring(var.mesh_service.port)
    "vmss-mesh-protocol" = var.mesh_service.protocol
  }
  mesh_health_tag = var.mesh_service.health_path == null ? {} : {
    "vmss-mesh-health-path" = var.mesh_service.health_path
  }
  tags = merge(var.tags, local.mesh_tags, local.mesh_health_tag)

  custom_data = base64encode(coalesce(var.custom_data, templatefile("${path.module}/sample-backend.yaml.tftpl", {
    port        = var.mesh_service.port
    health_path = coalesce(var.mesh_service.health_path, "/healthz")
  })))

  # Application Health extension v2: HTTP probe on the service's health path (TCP when it has none).
  health_settings = jsonencode(var.mesh_service.health_path == null ? {
    protocol = "tcp"
    port     = var.mesh_service.port
    } : {
    protocol    = "http"
    port        = var.mesh_service.port
    requestPath = var.mesh_service.health_path
  })

  scale_set_id = var.orchestration_mode == "Uniform" ? azurerm_linux_virtual_machine_scale_set.uniform[0].id : azurerm_orchestrated_virtual_machine_scale_set.flexible[0].id
}

resource "azurerm_linux_virtual_machine_scale_set" "uniform" {
  count               = var.orchestration_mode == "Uniform" ? 1 : 0
  name                = "vmss-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = var.vm_size
  instances           = var.instances.default
  zones               = length(var.zones) > 0 ? var.zones : null
  admin_username      = var.admin_username
  custom_data         = local.custom_data
  upgrade_mode        = "Manual"
  tags                = local.tags

  admin_ssh_key {
    username   = var.admin_username
    public_key = var.admin_ssh_public_key
  }

  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Standard_LRS"
  }

  network_interface {
    name    = "nic"
    primary = true

    ip_configuration {
      name      = "primary"
      primary   = true
      subnet_id = var.subnet_id
    }
  }

  extension {
    name                       = "HealthExtension"
    publisher                  = "Microsoft.ManagedServices"
    type                       = "ApplicationHealthLinux"
    type_handler_version       = "2.0"
    auto_upgrade_minor_version = true
    settings                   = local.health_settings
  }

  termination_notification {
    enabled = true
    timeout = var.drain_timeout
  }

  lifecycle {
    # Autoscale owns the capacity after creation.
    ignore_changes = [instances]
  }
}

resource "azurerm_orchestrated_virtual_machine_scale_set" "flexible" {
  count                       = var.orchestration_mode == "Flexible" ? 1 : 0
  name                        = "vmss-${var.name}"
  location                    = var.location
  resource_group_name         = var.resource_group_name
  sku_name                    = var.vm_size
  instances                   = var.instances.default
  zones                       = length(var.zones) > 0 ? var.zones : null
  platform_fault_domain_count = 1
  tags                        = local.tags

  os_profile {
    custom_data = local.custom_data

    linux_configuration {
      admin_username                  = var.admin_username
      disable_password_authentication = true

      admin_ssh_key {
        username   = var.admin_username
        public_key = var.admin_ssh_public_key
      }
    }
  }

  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Standard_LRS"
  }

  network_interface {
    name    = "nic"
    primary = true

    ip_configuration {
      name      = "primary"
      primary   = true
      subnet_id = var.subnet_id
    }
  }

  extension {
    name                               = "HealthExtension"
    publisher                          = "Microsoft.ManagedServices"
    type                               = "ApplicationHealthLinux"
    type_handler_version               = "2.0"
    auto_upgrade_minor_version_enabled = true
    settings                           = local.health_settings
  }

  termination_notification {
    enabled = true
    timeout = var.drain_timeout
  }

  lifecycle {
    ignore_changes = [instances]
  }
}

resource "azurerm_monitor_autoscale_setting" "cpu" {
  name                = "autoscale-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  target_resource_id  = local.scale_set_id
  tags                = var.tags

  profile {
    name = "cpu"

    capacity {
      minimum = var.instances.minimum
      default = var.instances.default
      maximum = var.instances.maximum
    }

    rule {
      metric_trigger {
        metric_name        = "Percentage CPU"
        metric_namespace   = "microsoft.compute/virtualmachinescalesets"
        metric_resource_id = local.scale_set_id
        time_grain         = "PT1M"
        statistic          = "Average"
        time_window        = "PT5M"
        time_aggregation   = "Average"
        operator           = "GreaterThan"
        threshold          = 75
      }

      scale_action {
        direction = "Increase"
        type      = "ChangeCount"
        value     = "1"
        cooldown  = "PT5M"
      }
    }

    rule {
      metric_trigger {
        metric_name        = "Percentage CPU"
        metric_namespace   = "microsoft.compute/virtualmachinescalesets"
        metric_resource_id = local.scale_set_id
        time_grain         = "PT1M"
        statistic          = "Average"
        time_window        = "PT5M"
        time_aggregation   = "Average"
        operator           = "LessThan"
        threshold          = 25
      }

      scale_action {
        direction = "Decrease"
        type      = "ChangeCount"
        value     = "1"
        cooldown  = "PT5M"
      }
    }
  }

  dynamic "notification" {
    for_each = var.autoscale_webhook_enabled ? [1] : []
    content {
      webhook {
        service_uri = var.autoscale_webhook_url
      }
    }
  }
}
