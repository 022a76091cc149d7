terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.55" # the version the schema check reads; the root module pins the same
    }
  }
}
