variable "name" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "resource_group_id" {
  description = "The resource group whose resource events (the scale sets' writes, deletes and actions) are delivered."
  type        = string
}

variable "function_app_id" {
  type = string
}

variable "enabled" {
  description = "Create the event subscriptions (Event Grid checks that the target function exists: publish the app first)."
  type        = bool
  default     = true
}

variable "dead_letter_storage_account_id" {
  type = string
}

variable "dead_letter_container_name" {
  type = string
}

variable "max_delivery_attempts" {
  description = "Deliveries of one event before it is dead-lettered (1-30)."
  type        = number
  default     = 30
}

variable "event_time_to_live_minutes" {
  description = "How long Event Grid keeps retrying one event (1-1440)."
  type        = number
  default     = 1440
}

variable "tags" {
  type    = map(string)
  default = {}
}
