variable "name" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "address_space" {
  description = "The virtual network's range; each subnet is a /24 of it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "gateway_ingress_cidrs" {
  description = "Sources allowed to reach the gateway listener (8080): CIDRs or service tags."
  type        = list(string)
  default     = ["Internet"]
}

variable "relay_port" {
  description = "The relay's gRPC port (xDS and push API)."
  type        = number
  default     = 18000
}

variable "backend_service_ports" {
  description = "Ports the backend instances serve on (the gateways' upstream traffic)."
  type        = list(number)
}

variable "tags" {
  type    = map(string)
  default = {}
}
