variable "name" {
  type = string
}

variable "unique_name" {
  description = "Globally unique stem for the Function App and its storage account (lower-case letters and digits)."
  type        = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "subnet_id" {
  description = "Subnet delegated to Microsoft.App/environments for VNet integration (reaches Consul and the relays)."
  type        = string
}

variable "reader_scope_ids" {
  description = "Resource groups (or subscriptions) whose scale sets and NICs the app may read."
  type        = list(string)
}

variable "scope_subscription_ids" {
  description = "VMSS_MESH_SUBSCRIPTIONS."
  type        = list(string)
}

variable "scope_resource_groups" {
  description = "VMSS_MESH_RESOURCE_GROUPS (empty = every resource group of the subscriptions)."
  type        = list(string)
  default     = []
}

variable "consul_http_addr" {
  type = string
}

variable "consul_datacenter" {
  type    = string
  default = ""
}

variable "consul_token_secret_uri" {
  description = "Versionless Key Vault secret URI of the app's Consul token (becomes a Key Vault reference)."
  type        = string
}

variable "consul_token_secret_id" {
  description = "Resource ID of that secret (the app's identity may read it)."
  type        = string
}

variable "relay_addresses" {
  description = "host:port of each relay's push API."
  type        = list(string)
}

variable "relay_token_secret_uri" {
  type = string
}

variable "relay_token_secret_id" {
  type = string
}

variable "kv_prefix" {
  type    = string
  default = "vmss-mesh"
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "reconcile_schedule" {
  type    = string
  default = "0 */5 * * * *"
}

variable "max_removal_share" {
  type    = string
  default = "0.5"
}

variable "maximum_instance_count" {
  description = "Flex Consumption scale-out limit."
  type        = number
  default     = 40
}

variable "code_published" {
  description = "True once the app's code is published: only then do its function keys exist (the autoscale webhook URL)."
  type        = bool
  default     = false
}

variable "sweep_alert_window_minutes" {
  description = "Alert when no timer sweep succeeded for this long (twice to three times the timer period is the usual choice)."
  type        = number
  default     = 15
}

variable "alert_action_group_ids" {
  description = "Azure Monitor action groups the sweep alert notifies; empty = the alert only shows in the portal."
  type        = list(string)
  default     = []
}

variable "tags" {
  type    = map(string)
  default = {}
}
