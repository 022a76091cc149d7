/**
 * How `vmss-mesh sandbox …` finds the running sandbox: `--url`, then VMSS_MESH_SANDBOX_URL, then
 * the discovery file `.vmss-mesh/sandbox.json` that the control server writes under its working
 * directory (URL + pid) and removes on close. A file left behind by a killed sandbox is
 * recognised by its dead pid and ignored.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors';

export const DISCOVERY_DIR = '.vmss-mesh';
export const DISCOVERY_FILE = 'sandbox.json';
export const SANDBOX_URL_SETTING = 'VMSS_MESH_SANDBOX_URL';

export interface DiscoveryRecord {
  readonly url: string;
  readonly pid: number;
  readonly startedAt: string;
}

const recordSchema = z.object({ url: z.url(), pid: z.number().int().positive(), startedAt: z.string() });

export function discoveryPath(dir: string): string {
  return join(dir, DISCOVERY_DIR, DISCOVERY_FILE);
}

/** Written via a temporary file and a rename, so a reader never sees half a record. */
export async function writeDiscoveryFile(dir: string, record: DiscoveryRecord): Promise<string> {
  const path = discoveryPath(dir);
  await mkdir(join(dir, DISCOVERY_DIR), { recursive: true });
  const temporary = `${path}.${record.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, 'utf8');
  await rename(temporary, path);
  return path;
}

/** The running sandbox's app settings, as a local.settings.json: `vmss-mesh reconcile --settings` reads it. */
export const SETTINGS_FILE = 'local.settings.json';

export function settingsPath(dir: string): string {
  return join(dir, DISCOVERY_DIR, SETTINGS_FILE);
}

/**
 * Writes the settings the sandbox's Functions app runs with (owner-only: it holds the sandbox's
 * tokens), via a temporary file and a rename like the discovery record.
 */
export async function writeSettingsFile(dir: string, values: Readonly<Record<string, string>>, pid = process.pid): Promise<string> {
  const path = settingsPath(dir);
  await mkdir(join(dir, DISCOVERY_DIR), { recursive: true });
  const temporary = `${path}.${pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ IsEncrypted: false, Values: values }, null, 2)}\n`, { encoding: 'utf8', mode: 0o600 });
  await rename(temporary, path);
  return path;
}

/** Removes the file only if it still holds `values`: a newer sandbox may have replaced it. */
export async function removeSettingsFile(dir: string, values: Readonly<Record<string, string>>): Promise<void> {
  const text = await readFile(settingsPath(dir), 'utf8').catch(() => undefined);
  if (text === undefined) return;
  try {
    const parsed = JSON.parse(text) as { Values?: unknown };
    if (JSON.stringify(parsed.Values) !== JSON.stringify(values)) return;
  } catch {
    return;
  }
  await rm(settingsPath(dir), { force: true });
}

/** Removes the file only if it is still ours: a newer sandbox may have replaced it. */
export async function removeDiscoveryFile(dir: string, record: DiscoveryRecord): Promise<void> {
  const current = await readDiscoveryFile(dir, { checkAlive: false });
  if (current && current.url === record.url && current.pid === record.pid) await rm(discoveryPath(dir), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else — still a live sandbox.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The record, or undefined when there is none, it is unreadable, or (by default) its process is gone. */
export async function readDiscoveryFile(dir: string, options: { checkAlive?: boolean } = {}): Promise<DiscoveryRecord | undefined> {
  let text: string;
  try {
    text = await readFile(discoveryPath(dir), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = recordSchema.safeParse(parsed);
  if (!result.success) return undefined;
  if ((options.checkAlive ?? true) && !isAlive(result.data.pid)) return undefined;
  return result.data;
}

export interface ResolvedSandboxUrl {
  readonly url: string;
  readonly source: 'flag' | 'environment' | 'discovery-file';
}

/** Base URL without a trailing slash; only http(s) is meaningful for the control server. */
export function normaliseSandboxUrl(raw: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`not a URL: ${JSON.stringify(raw)}`, setting);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`must be an http:// or https:// URL, got ${JSON.stringify(raw)}`, setting);
  return url.href.replace(/\/+$/, '');
}

/** Flag, then environment, then the discovery file under `cwd`; undefined when none names a sandbox. */
export async function resolveSandboxUrl(input: { flag?: string; env: Readonly<Record<string, string | undefined>>; cwd: string }): Promise<ResolvedSandboxUrl | undefined> {
  if (input.flag !== undefined) return { url: normaliseSandboxUrl(input.flag, '--url'), source: 'flag' };
  const fromEnv = input.env[SANDBOX_URL_SETTING];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { url: normaliseSandboxUrl(fromEnv, SANDBOX_URL_SETTING), source: 'environment' };
  const record = await readDiscoveryFile(input.cwd);
  return record ? { url: normaliseSandboxUrl(record.url, discoveryPath(input.cwd)), source: 'discovery-file' } : undefined;
}
