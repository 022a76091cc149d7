# An alert when the timer sweep has not succeeded for 15 minutes (three periods of the default
# schedule): no `sweep` log line without failures in the window. Each sweep logs one JSON line
# (src/functions/reconcileTimer.ts via log-line.ts) that reaches Application Insights as a trace
# whose message is that JSON: `event` = "sweep", `failures` = the scale sets that failed. A sweep
# that failed, one that never ran (host down, timer stuck, app not started) and one that could not
# finish all leave the window without such a line. Off until the code is published (no sweeps yet).

locals {
  # One row (the alert fires) when no sweep line without failures is in the window.
  sweep_succeeded_query = <<-KQL
    traces
    | where message has "\"event\":\"sweep\""
    | extend line = parse_json(message)
    | where tostring(line.event) == "sweep" and array_length(line.failures) == 0
    | summarize succeeded = count()
    | where succeeded == 0
  KQL
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "sweep_stale" {
  name                 = "alert-${var.name}-sweep-stale"
  display_name         = "vmss-mesh: no successful reconcile sweep for ${var.sweep_alert_window_minutes} minutes"
  description          = "The reconcileTimer sweep has not logged a run without failures within the window: scale sets may be stale in Consul. See the app's 'sweep' and 'reconcile-failed' traces, and GET /api/status (staleness)."
  location             = var.location
  resource_group_name  = var.resource_group_name
  scopes               = [azurerm_application_insights.app.id]
  severity             = 2
  enabled              = var.code_published
  evaluation_frequency = "PT5M"
  window_duration      = "PT${var.sweep_alert_window_minutes}M"

  criteria {
    query                   = local.sweep_succeeded_query
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  auto_mitigation_enabled = true

  dynamic "action" {
    for_each = length(var.alert_action_group_ids) > 0 ? [1] : []
    content {
      action_groups = var.alert_action_group_ids
    }
  }

  tags = var.tags
}
