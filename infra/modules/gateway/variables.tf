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
  description = "The gateway subnet's range: gateways get fixed addresses from it (.10, .11, …) so the Functions app can push to each relay."
  type        = string
}

variable "zones" {
  type    = list(string)
  default = []
}

variable "gateway_count" {
  type    = number
  default = 2

  validation {
    condition     = var.gateway_count >= 1 && var.gateway_count <= 10
    error_message = "gateway_count must be 1-10."
  }
}

variable "vm_size" {
  type    = string
  default = "Standard_B2s"
}

variable "admin_username" {
  type = string
}

variable "admin_ssh_public_key" {
  type = string
}

variable "relay_port" {
  type    = number
  default = 18000
}

variable "envoy_image" {
  type = string
}

variable "gateway_routes" {
  type    = string
  default = ""
}

variable "consul_http_addr" {
  type = string
}

variable "consul_datacenter" {
  type = string
}

variable "key_vault_name" {
  type = string
}

variable "secret_names" {
  description = "Key Vault secret names: the relay push token and the relays' Consul token."
  type = object({
    relay_push_token = string
    consul_token     = string
  })
}

variable "secret_resource_ids" {
  description = "Resource IDs of those secrets: the gateways' identities may read exactly these."
  type        = list(string)
}

variable "package_url" {
  description = "Blob URL of the vmss-mesh package (npm pack) the VMs install."
  type        = string
}

variable "package_container_id" {
  description = "Resource ID of the container holding the package (the VMs may read it)."
  type        = string
}

variable "tags" {
  type    = map(string)
  default = {}
}
