terraform {
  required_version = ">= 1.6"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # The schema check (test/helpers/schema-check) reads azurerm 4.55.0's schema (from
      # @cdktf/provider-azurerm 14.23.1): every resource and data block is checked against it.
      # 4.42+ was the floor for azurerm_function_app_flex_consumption and Key Vault's
      # rbac_authorization_enabled.
      version = "~> 4.55"
    }
    random = {
      source = "hashicorp/random"
      # Checked against random 3.7.2 (@cdktf/provider-random 12.0.1).
      version = "~> 3.7"
    }
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id
  # Blob and container calls with Entra ID, so storage accounts can keep shared keys disabled.
  storage_use_azuread = true

  features {
    key_vault {
      # The vault holds the Consul tokens: keep them recoverable after `terraform destroy`.
      purge_soft_delete_on_destroy = false
    }
  }
}
