/**
 * The Azure Monitor alert for a sweep that has not succeeded for 15 minutes: a scheduled query rule
 * on the app's Application Insights whose query reads the `sweep` log line the timer writes.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { logLine } from '../../src/functions/log-line';
import { block, loadAll, type Block, type TerraformModule } from '../helpers/terraform-config';

let functions: TerraformModule;
let root: TerraformModule;
before(async () => {
  const all = await loadAll();
  functions = all.get('modules/functions')!;
  root = all.get('.')!;
});

test('a scheduled query rule on the app’s Application Insights, every 5 minutes over 15, off until the code is published', () => {
  const rule = functions.resources.get('azurerm_monitor_scheduled_query_rules_alert_v2.sweep_stale') as Block;
  assert.ok(rule, 'the alert resource exists');
  assert.deepEqual(rule['scopes'], ['${azurerm_application_insights.app.id}']);
  assert.equal(rule['evaluation_frequency'], 'PT5M');
  assert.equal(rule['window_duration'], 'PT${var.sweep_alert_window_minutes}M');
  assert.equal(functions.variables.get('sweep_alert_window_minutes')?.['default'], 15);
  assert.equal(rule['enabled'], '${var.code_published}');
  const criteria = block(rule, 'criteria');
  assert.equal(criteria['query'], '${local.sweep_succeeded_query}');
  assert.deepEqual([criteria['time_aggregation_method'], criteria['operator'], criteria['threshold']], ['Count', 'GreaterThan', 0]);
  // The root passes the action groups through.
  assert.equal(root.modules.get('functions')?.['alert_action_group_ids'], '${var.alert_action_group_ids}');
});

test('the query looks for the line the timer logs: event "sweep" with no failures', () => {
  const query = String(functions.locals['sweep_succeeded_query']);
  const literal = /message has "((?:[^"\\]|\\.)*)"/.exec(query)?.[1];
  assert.ok(literal, query);
  const needle = literal.replace(/\\(.)/g, '$1');
  assert.equal(needle, '"event":"sweep"');
  // What log-line.ts makes of the timer's record holds it (the worker passes the string on as the trace's message).
  assert.ok(logLine({ msg: 'swept 3 scale sets', event: 'sweep', registered: 0, failures: [] }).includes(needle));
  assert.match(query, /tostring\(line\.event\) == "sweep" and array_length\(line\.failures\) == 0/);
  assert.match(query, /summarize succeeded = count\(\)\s*\| where succeeded == 0/);
  // The timer writes exactly those fields.
  const timer = readFileSync(path.resolve(__dirname, '../../src/functions/reconcileTimer.ts'), 'utf8');
  assert.match(timer, /event: 'sweep'/);
  assert.match(timer, /failures: run\.failures/);
});
