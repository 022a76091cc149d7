output "scale_set_id" {
  value = local.scale_set_id
}

output "mesh_tags" {
  value = merge(local.mesh_tags, local.mesh_health_tag)
}
