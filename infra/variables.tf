variable "subscription_id" {
  description = "Subscription to deploy into; also the scope the Functions app reconciles (VMSS_MESH_SUBSCRIPTIONS)."
  type        = string
}

variable "location" {
  description = "Azure region, e.g. westeurope."
  type        = string
}

variable "name" {
  description = "Short prefix for resource names (lower-case letters and digits, 3-12 characters)."
  type        = string
  default     = "vmssmesh"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.name))
    error_message = "name must be 3-12 lower-case letters and digits, starting with a letter."
  }
}

variable "zones" {
  description = "Availability zones to spread VMs over; [] in regions without zones."
  type        = list(string)
  default     = ["1", "2", "3"]
}

variable "admin_username" {
  description = "Admin user of every Linux VM (SSH keys only; no port 22 is opened: use Bastion or the serial console)."
  type        = string
  default     = "azureuser"
}

variable "admin_ssh_public_key" {
  description = "OpenSSH public key for admin_username."
  type        = string
}

variable "vmss_mesh_package" {
  description = "Path of the vmss-mesh package tarball made by `npm pack` (the gateway VMs install the relay and the Envoy bootstrap generator from it)."
  type        = string
}

variable "alert_action_group_ids" {
  description = "Azure Monitor action groups notified when the reconcile sweep has not succeeded for 15 minutes; empty = the alert only shows in the portal."
  type        = list(string)
  default     = []
}

variable "functions_code_published" {
  description = "Set to true once the app is published (`func azure functionapp publish`): Event Grid only subscribes to a function that exists, and the autoscale webhook needs its key."
  type        = bool
  default     = false
}

variable "consul_server_count" {
  description = "Consul servers: 1 (try it out) or 3 (survives losing one)."
  type        = number
  default     = 3

  validation {
    condition     = contains([1, 3], var.consul_server_count)
    error_message = "consul_server_count must be 1 or 3."
  }
}

variable "consul_version" {
  description = "Consul package version from HashiCorp's apt repository."
  type        = string
  default     = "1.21.4"
}

variable "consul_datacenter" {
  description = "Consul datacenter name."
  type        = string
  default     = "dc1"
}

variable "consul_vm_size" {
  type    = string
  default = "Standard_B2s"
}

variable "gateway_count" {
  description = "Gateway VMs (Envoy + xDS relay each), behind one public load balancer."
  type        = number
  default     = 2
}

variable "gateway_vm_size" {
  type    = string
  default = "Standard_B2s"
}

variable "gateway_ingress_cidrs" {
  description = "Who may reach the gateway's port 8080 (Internet = anyone)."
  type        = list(string)
  default     = ["Internet"]
}

variable "gateway_routes" {
  description = "Gateway routing rules `[HOST]/PATH=SERVICE,...` (VMSS_MESH_GATEWAY_ROUTES); empty = `/` to the only service."
  type        = string
  default     = ""
}

variable "envoy_image" {
  description = "Envoy container image the gateway VMs run."
  type        = string
  default     = "envoyproxy/envoy:v1.34-latest"
}

variable "relay_port" {
  description = "Port of the relay's gRPC server: xDS for the gateways and the push API for the Functions app."
  type        = number
  default     = 18000
}

variable "backend_orchestration_mode" {
  description = "Orchestration mode of the backend scale set: Uniform or Flexible."
  type        = string
  default     = "Uniform"

  validation {
    condition     = contains(["Uniform", "Flexible"], var.backend_orchestration_mode)
    error_message = "backend_orchestration_mode must be Uniform or Flexible."
  }
}

variable "backend_vm_size" {
  type    = string
  default = "Standard_B1s"
}

variable "backend_instances" {
  description = "Autoscale bounds and starting capacity of the backend scale set."
  type = object({
    minimum = number
    default = number
    maximum = number
  })
  default = { minimum = 2, default = 2, maximum = 10 }
}

variable "mesh_service_name" {
  description = "Mesh service the backend scale set serves (tag vmss-mesh-service)."
  type        = string
  default     = "web"
}

variable "mesh_service_port" {
  description = "Port the backends serve on (tag vmss-mesh-port)."
  type        = number
  default     = 8080
}

variable "mesh_service_protocol" {
  description = "http, grpc or tcp (tag vmss-mesh-protocol)."
  type        = string
  default     = "http"
}

variable "mesh_service_health_path" {
  description = "HTTP health path of the backends (tag vmss-mesh-health-path and the Application Health extension); null for none."
  type        = string
  default     = "/healthz"
}

variable "app_log_level" {
  description = "VMSS_MESH_LOG_LEVEL of the Functions app."
  type        = string
  default     = "info"
}

variable "reconcile_schedule" {
  description = "VMSS_MESH_RECONCILE_SCHEDULE: NCRONTAB (6 fields) of the full reconcile."
  type        = string
  default     = "0 */5 * * * *"
}

variable "max_removal_share" {
  description = "VMSS_MESH_MAX_REMOVAL_SHARE."
  type        = string
  default     = "0.5"
}

variable "tags" {
  description = "Tags on every resource (the backend scale set adds the mesh tags)."
  type        = map(string)
  default     = {}
}
