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

variable "subnet_cidr" {
  description = "The control-plane subnet's range: servers get fixed addresses from it (.10, .11, .12) so they can find each other."
  type        = string
}

variable "zones" {
  type    = list(string)
  default = []
}

variable "server_count" {
  type    = number
  default = 3

  validation {
    condition     = contains([1, 3], var.server_count)
    error_message = "server_count must be 1 or 3."
  }
}

variable "vm_size" {
  type    = string
  default = "Standard_B2s"
}

variable "consul_version" {
  type = string
}

variable "datacenter" {
  type    = string
  default = "dc1"
}

variable "admin_username" {
  type = string
}

variable "admin_ssh_public_key" {
  type = string
}

variable "key_vault_id" {
  description = "Key Vault (RBAC) that receives the bootstrap token, the gossip key and the app's and relay's tokens."
  type        = string
}

variable "key_vault_name" {
  type = string
}

variable "kv_prefix" {
  description = "Consul KV prefix the app writes its markers under (VMSS_MESH_KV_PREFIX): its token may write there and nowhere else in KV."
  type        = string
  default     = "vmss-mesh"
}

variable "tags" {
  type    = map(string)
  default = {}
}
