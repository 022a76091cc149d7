/**
 * Schema check of a Terraform configuration without Terraform or network: every resource, data
 * and provider block under a directory (modules included) against the provider schemas carried by
 * the CDK for Terraform provider packages (devDependencies).
 */
import { loadTfFiles, topBlocks, type TopBlock } from './hcl-blocks';
import { checkReferences } from './references';
import { addressOf, checkTopBlock, formatProblem, type Problem } from './rules';
import { loadProviderSchema } from './schema-cache';
import type { ProviderSchema } from './provider-schema';

export { formatProblem, type Problem };

/** The CDK provider packages the check reads, one per provider `infra/` uses. */
export const PROVIDER_PACKAGES = ['@cdktf/provider-azurerm', '@cdktf/provider-random'] as const;

/** Provider schemas by local name (`azurerm`, `random`), each loaded once per process. */
export function providerSchemas(): Map<string, ProviderSchema> {
  const schemas = new Map<string, ProviderSchema>();
  for (const name of PROVIDER_PACKAGES) {
    const { schema } = loadProviderSchema(name);
    schemas.set(schema.provider, schema);
  }
  return schemas;
}

export interface CheckResult {
  readonly problems: readonly Problem[];
  /** How many blocks were checked, by kind. */
  readonly checked: { readonly resource: number; readonly data: number; readonly provider: number };
  /** Every `type` checked (resources and data sources). */
  readonly types: ReadonlySet<string>;
}

export async function checkTerraformDirectory(dir: string, schemas: ReadonlyMap<string, ProviderSchema> = providerSchemas()): Promise<CheckResult> {
  const problems: Problem[] = [];
  const checked = { resource: 0, data: 0, provider: 0 };
  const types = new Set<string>();
  const files = await loadTfFiles(dir);
  const blocks = topBlocks(files);
  const declared = new Map<string, TopBlock>();
  for (const top of blocks) {
    const address = addressOf(top);
    // A provider block may repeat with an alias; a resource or data address may not.
    const key = `${top.moduleDir}\u0000${address}`;
    const first = declared.get(key);
    if (first && top.kind !== 'provider') problems.push({ file: top.file, line: top.outline.line, address, message: `declared twice in one module (first at ${first.file}:${first.outline.line})` });
    else declared.set(key, top);
    checked[top.kind]++;
    if (top.kind !== 'provider') types.add(top.kind === 'data' ? `data.${top.type}` : top.type);
    problems.push(...checkTopBlock(top, schemas));
  }
  problems.push(...checkReferences(files, blocks, schemas));
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { problems, checked, types };
}
