terraform {
  required_version = ">= 1.6"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.42+: azurerm_function_app_flex_consumption and Key Vault's rbac_authorization_enabled.
      version = "~> 4.42"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
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
