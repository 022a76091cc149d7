/**
 * The HTTP routes a Functions host serves for the app's HTTP triggers, from their registered
 * bindings (route — default the function name —, methods, authLevel) and host.json's route prefix
 * (`extensions.http.routePrefix`, default "api"). Route templates as the host's: literal segments
 * (case-insensitive), `{name}`, optional `{name?}` and catch-all `{*name}`; constraints such as
 * `{id:int}` are accepted and not checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { triggerOf } from '../functions-worker/bindings';
import type { RegisteredFunction } from '../functions-worker/functions-core';

export interface HttpRoute {
  readonly fn: RegisteredFunction;
  readonly template: string;
  /** Upper-case; the trigger's own list (the library fills in GET, POST when none was given). */
  readonly methods: readonly string[];
  readonly authLevel: string;
  /** Route params of a path below the prefix, or undefined when it does not match. */
  match(segments: readonly string[]): Record<string, string> | undefined;
}

type Segment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param'; readonly name: string; readonly optional: boolean; readonly catchAll: boolean };

export function httpRoutesOf(functions: readonly RegisteredFunction[]): HttpRoute[] {
  return functions.flatMap((fn) => {
    const trigger = triggerOf(fn.metadata);
    if (trigger.type.toLowerCase() !== 'httptrigger') return [];
    const template = typeof trigger.route === 'string' && trigger.route !== '' ? trigger.route : (fn.metadata.name ?? '');
    const methods = Array.isArray(trigger.methods) ? trigger.methods.map((m) => String(m).toUpperCase()) : ['GET', 'POST'];
    const authLevel = typeof trigger.authLevel === 'string' ? trigger.authLevel : 'function';
    const segments = parseTemplate(template);
    return [{ fn, template, methods, authLevel, match: (path: readonly string[]) => matchSegments(segments, path) }];
  });
}

/** host.json's `extensions.http.routePrefix` ("api" when absent); "" serves routes at the root. */
export function routePrefixOf(appDirectory: string): string {
  const file = path.join(appDirectory, 'host.json');
  if (!existsSync(file)) return 'api';
  const hostJson = JSON.parse(readFileSync(file, 'utf8')) as { extensions?: { http?: { routePrefix?: unknown } } };
  const prefix = hostJson.extensions?.http?.routePrefix;
  return typeof prefix === 'string' ? prefix.replace(/^\/+|\/+$/g, '') : 'api';
}

function parseTemplate(template: string): Segment[] {
  return template
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((s) => s !== '')
    .map((text): Segment => {
      const param = /^\{(\*?)([^:?}]+)(?::[^?}]*)?(\?)?\}$/.exec(text);
      if (!param) return { kind: 'literal', text: text.toLowerCase() };
      return { kind: 'param', name: param[2] as string, optional: param[3] === '?', catchAll: param[1] === '*' };
    });
}

function matchSegments(template: readonly Segment[], path: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i += 1) {
    const segment = template[i] as Segment;
    const value = path[i];
    if (segment.kind === 'param' && segment.catchAll) {
      if (path.length > i) params[segment.name] = path.slice(i).join('/');
      return params;
    }
    if (value === undefined) {
      if (segment.kind === 'param' && segment.optional) continue;
      return undefined;
    }
    if (segment.kind === 'literal') {
      if (value.toLowerCase() !== segment.text) return undefined;
    } else {
      params[segment.name] = value;
    }
  }
  return path.length === template.length || (path.length < template.length && template.slice(path.length).every((s) => s.kind === 'param' && s.optional)) ? params : undefined;
}
