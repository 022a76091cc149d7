# One virtual network, four subnets, one NSG per subnet that opens only what the mesh needs:
#   gateway:       8080 from gateway_ingress_cidrs (and Azure's load balancer probe);
#                  the relay port from the gateway subnet (Envoy → relay, xDS) and from the
#                  Functions subnet (the app → relay, push API: the same gRPC port);
#   control plane: Consul HTTP 8500 and gRPC 8502, server RPC 8300 and Serf 8301–8302, inside
#                  the virtual network only;
#   backends:      the mesh service ports from the gateway subnet (the traffic Envoy forwards);
#   functions:     nothing (VNet integration only sends).
# Each NSG ends with a deny-all, which overrides Azure's default AllowVnetInBound, so "inside the
# network" means exactly the rules above. Outbound stays open (packages, ARM, Key Vault) through
# a NAT gateway, since new subnets get no default outbound access.

locals {
  subnet_cidrs = {
    backends      = cidrsubnet(var.address_space, 8, 1)
    gateway       = cidrsubnet(var.address_space, 8, 2)
    control_plane = cidrsubnet(var.address_space, 8, 3)
    functions     = cidrsubnet(var.address_space, 8, 4)
  }
}

resource "azurerm_virtual_network" "mesh" {
  name                = "vnet-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  address_space       = [var.address_space]
  tags                = var.tags
}

resource "azurerm_subnet" "backends" {
  name                 = "snet-backends"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.mesh.name
  address_prefixes     = [local.subnet_cidrs.backends]
}

resource "azurerm_subnet" "gateway" {
  name                 = "snet-gateway"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.mesh.name
  address_prefixes     = [local.subnet_cidrs.gateway]
}

resource "azurerm_subnet" "control_plane" {
  name                 = "snet-control-plane"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.mesh.name
  address_prefixes     = [local.subnet_cidrs.control_plane]
}

# Flex Consumption's VNet integration needs a subnet delegated to Microsoft.App/environments.
resource "azurerm_subnet" "functions" {
  name                 = "snet-functions"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.mesh.name
  address_prefixes     = [local.subnet_cidrs.functions]

  delegation {
    name = "flex-consumption"
    service_delegation {
      name    = "Microsoft.App/environments"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

# --- NSGs ------------------------------------------------------------------------------------

resource "azurerm_network_security_group" "gateway" {
  name                = "nsg-${var.name}-gateway"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  security_rule {
    name                       = "allow-gateway-listener"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "8080"
    source_address_prefixes    = var.gateway_ingress_cidrs
    destination_address_prefix = local.subnet_cidrs.gateway
  }

  security_rule {
    name                       = "allow-load-balancer-probe"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "8080"
    source_address_prefix      = "AzureLoadBalancer"
    destination_address_prefix = local.subnet_cidrs.gateway
  }

  security_rule {
    name                       = "allow-xds-from-gateways"
    priority                   = 200
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = var.relay_port
    source_address_prefix      = local.subnet_cidrs.gateway
    destination_address_prefix = local.subnet_cidrs.gateway
  }

  security_rule {
    name                       = "allow-push-from-functions"
    priority                   = 210
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = var.relay_port
    source_address_prefix      = local.subnet_cidrs.functions
    destination_address_prefix = local.subnet_cidrs.gateway
  }

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_network_security_group" "control_plane" {
  name                = "nsg-${var.name}-control-plane"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  security_rule {
    name                       = "allow-consul-http-grpc"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_ranges    = ["8500", "8502"]
    source_address_prefix      = var.address_space
    destination_address_prefix = local.subnet_cidrs.control_plane
  }

  security_rule {
    name                       = "allow-consul-rpc-serf"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "*" # Serf gossips over TCP and UDP
    source_port_range          = "*"
    destination_port_range     = "8300-8302"
    source_address_prefix      = var.address_space
    destination_address_prefix = local.subnet_cidrs.control_plane
  }

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_network_security_group" "backends" {
  name                = "nsg-${var.name}-backends"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  security_rule {
    name                       = "allow-service-from-gateways"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_ranges    = var.backend_service_ports
    source_address_prefix      = local.subnet_cidrs.gateway
    destination_address_prefix = local.subnet_cidrs.backends
  }

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_network_security_group" "functions" {
  name                = "nsg-${var.name}-functions"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "gateway" {
  subnet_id                 = azurerm_subnet.gateway.id
  network_security_group_id = azurerm_network_security_group.gateway.id
}

resource "azurerm_subnet_network_security_group_association" "control_plane" {
  subnet_id                 = azurerm_subnet.control_plane.id
  network_security_group_id = azurerm_network_security_group.control_plane.id
}

resource "azurerm_subnet_network_security_group_association" "backends" {
  subnet_id                 = azurerm_subnet.backends.id
  network_security_group_id = azurerm_network_security_group.backends.id
}

resource "azurerm_subnet_network_security_group_association" "functions" {
  subnet_id                 = azurerm_subnet.functions.id
  network_security_group_id = azurerm_network_security_group.functions.id
}

# --- outbound ----------------------------------------------------------------------------------

resource "azurerm_public_ip" "nat" {
  name                = "pip-${var.name}-nat"
  location            = var.location
  resource_group_name = var.resource_group_name
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = var.tags
}

resource "azurerm_nat_gateway" "mesh" {
  name                = "ng-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku_name            = "Standard"
  tags                = var.tags
}

resource "azurerm_nat_gateway_public_ip_association" "mesh" {
  nat_gateway_id       = azurerm_nat_gateway.mesh.id
  public_ip_address_id = azurerm_public_ip.nat.id
}

resource "azurerm_subnet_nat_gateway_association" "vm_subnets" {
  for_each = {
    backends      = azurerm_subnet.backends.id
    gateway       = azurerm_subnet.gateway.id
    control_plane = azurerm_subnet.control_plane.id
  }
  subnet_id      = each.value
  nat_gateway_id = azurerm_nat_gateway.mesh.id
}
