variable "name" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "subnet_id" {
  type = string
}

variable "zones" {
  type    = list(string)
  default = []
}

variable "orchestration_mode" {
  description = "Uniform or Flexible."
  type        = string
  default     = "Uniform"

  validation {
    condition     = contains(["Uniform", "Flexible"], var.orchestration_mode)
    error_message = "orchestration_mode must be Uniform or Flexible."
  }
}

variable "vm_size" {
  type    = string
  default = "Standard_B1s"
}

variable "admin_username" {
  type = string
}

variable "admin_ssh_public_key" {
  type = string
}

variable "instances" {
  type = object({
    minimum = number
    default = number
    maximum = number
  })
}

variable "mesh_service" {
  description = "The mesh service the instances serve: becomes the scale set's vmss-mesh-* tags (docs/mesh-tags.md)."
  type = object({
    name        = string
    port        = number
    protocol    = string
    health_path = optional(string)
  })
}

variable "drain_timeout" {
  description = "Terminate notification window (ISO 8601, PT5M-PT15M): instances being removed stay draining this long."
  type        = string
  default     = "PT5M"
}

variable "custom_data" {
  description = "cloud-init for the instances (plain text); null = a small sample HTTP service on the mesh port."
  type        = string
  default     = null
}

variable "autoscale_webhook_enabled" {
  description = "Whether the autoscale setting notifies the app's autoscaleWebhook (needs the published app's key)."
  type        = bool
  default     = false
}

variable "autoscale_webhook_url" {
  description = "URL of the app's autoscaleWebhook function, with its key."
  type        = string
  default     = null
  sensitive   = true
}

variable "tags" {
  type    = map(string)
  default = {}
}
