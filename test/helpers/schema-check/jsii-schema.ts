/**
 * Reads a provider's schema out of a CDK for Terraform provider package's `.jsii` type system.
 *
 * How the generator (cdktf provider-generator) encodes the Terraform schema there:
 * - each resource / data source is a class whose docs link to its registry page
 *   (`…/docs/resources/<name> azurerm_<name>`), constructed with a `<Name>Config` struct;
 * - the Config struct's properties are the arguments and nested blocks; `optional` absent means
 *   required; each property's docs link ends in `#<terraform_name>` (the CDK name is camelCase and
 *   may be renamed); a nested block is a property typed as a struct (at most one block) or a list
 *   of structs, documented as "<name> block." — list-of-object *attributes* (SDKv2
 *   `ConfigModeAttr`) are typed the same way but documented like any argument;
 * - computed-only attributes are not in the struct: they appear only as getters on the class (or
 *   on the block's `…OutputReference` class), without the `…Input` getter that settable ones have;
 * - Terraform's meta-arguments (count, for_each, depends_on, provider, lifecycle, provisioners,
 *   connection) come from `cdktf.TerraformMetaArguments`, not from the provider: the check treats
 *   them as Terraform's;
 * - `id` is in every SDKv2 resource's Config as optional ("automatically added … might not be
 *   settable"): SDKv2 adds it as optional+computed but providers ignore a configured value, so the
 *   check counts a top-level `id` as computed-only.
 */
import type { AttributeSchema, BodySchema, NestedSchema, ProviderSchema, ValueKind } from './provider-schema';

interface JsiiDocs {
  readonly summary?: string;
  readonly remarks?: string;
}

interface JsiiTypeRef {
  readonly primitive?: string;
  readonly fqn?: string;
  readonly collection?: { readonly kind: 'array' | 'map'; readonly elementtype: JsiiTypeRef };
  readonly union?: { readonly types: readonly JsiiTypeRef[] };
}

interface JsiiProperty {
  readonly name: string;
  readonly optional?: boolean;
  readonly static?: boolean;
  readonly docs?: JsiiDocs;
  readonly type: JsiiTypeRef;
}

interface JsiiType {
  readonly kind: 'class' | 'interface' | 'enum';
  readonly fqn: string;
  readonly datatype?: boolean;
  readonly docs?: JsiiDocs;
  readonly interfaces?: readonly string[];
  readonly properties?: readonly JsiiProperty[];
  readonly initializer?: { readonly parameters?: readonly { readonly name: string; readonly type: JsiiTypeRef }[] };
}

export interface JsiiAssembly {
  readonly name: string;
  readonly version: string;
  readonly types: Readonly<Record<string, JsiiType>>;
}

const CLASS_LINK = /^Represents a \{@link https:\/\/registry\.terraform\.io\/providers\/([^/]+)\/([^/]+)\/([^/]+)\/docs(?:\/(resources|data-sources)\/\S+)? ([A-Za-z0-9_]+)\}/;
const PROPERTY_ANCHOR = /#([A-Za-z0-9_]+) [A-Za-z0-9_]+#/;
const SDK_ID_REMARK = 'automatically added to all resources';

/**
 * `ipv4AddressPrefix` → `ipv4_address_prefix`, for names without a docs anchor (getters). Not
 * exact where Terraform's name has an underscore before a digit (`instance_0_…`): callers compare
 * such names without underscores.
 */
export function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Struct type a property holds, whether one (`Foo`) or a list (`Foo[] | IResolvable`). */
function structOf(assembly: JsiiAssembly, ref: JsiiTypeRef): { fqn: string; list: boolean } | undefined {
  const isStruct = (fqn: string | undefined): fqn is string => {
    const type = fqn === undefined ? undefined : assembly.types[fqn];
    return type?.kind === 'interface' && type.datatype === true;
  };
  if (isStruct(ref.fqn)) return { fqn: ref.fqn, list: false };
  if (ref.collection?.kind === 'array' && isStruct(ref.collection.elementtype.fqn)) return { fqn: ref.collection.elementtype.fqn, list: true };
  for (const member of ref.union?.types ?? []) {
    const found = structOf(assembly, member);
    if (found) return found;
  }
  return undefined;
}

function valueKind(ref: JsiiTypeRef): ValueKind {
  if (ref.primitive === 'string' || ref.primitive === 'number') return ref.primitive;
  if (ref.primitive === 'boolean') return 'bool';
  if (ref.collection) return ref.collection.kind === 'array' ? 'list' : 'map';
  const kinds = new Set((ref.union?.types ?? []).filter((t) => t.fqn !== 'cdktf.IResolvable').map(valueKind));
  return kinds.size === 1 ? ([...kinds][0] as ValueKind) : 'any';
}

/** What the reading could not take from the docs as expected (kept so a test can insist on none). */
interface Doubts {
  /** `Struct.property` whose Terraform name had to be guessed (no registry anchor). */
  readonly unanchored: string[];
  /** Classes linked to a registry page whose Config struct was not found. */
  readonly withoutConfig: string[];
}

function terraformName(property: JsiiProperty, owner: string, doubts: Doubts): string {
  const docs = `${property.docs?.summary ?? ''} ${property.docs?.remarks ?? ''}`;
  const anchor = PROPERTY_ANCHOR.exec(docs)?.[1];
  if (anchor) return anchor;
  doubts.unanchored.push(`${owner}.${property.name}`);
  return snakeCase(property.name);
}

/** Own properties plus those of extended structs of the same assembly (not cdktf's meta-arguments). */
function structProperties(assembly: JsiiAssembly, fqn: string): JsiiProperty[] {
  const type = assembly.types[fqn];
  if (!type) return [];
  const inherited = (type.interfaces ?? []).filter((i) => i.startsWith(`${assembly.name}.`)).flatMap((i) => structProperties(assembly, i));
  return [...inherited, ...(type.properties ?? [])];
}

function readBody(assembly: JsiiAssembly, structFqn: string, getterClassFqn: string, topLevel: boolean, doubts: Doubts): BodySchema {
  const attributes: Record<string, AttributeSchema> = {};
  const blocks: Record<string, NestedSchema> = {};
  const computed = new Set<string>();
  const settableCdkNames = new Set<string>();
  for (const property of structProperties(assembly, structFqn)) {
    const name = terraformName(property, structFqn, doubts);
    settableCdkNames.add(property.name);
    if (topLevel && name === 'id' && property.optional && (property.docs?.remarks ?? '').includes(SDK_ID_REMARK)) {
      computed.add('id');
      continue;
    }
    const nested = structOf(assembly, property.type);
    if (nested) {
      blocks[name] = {
        required: property.optional !== true,
        maxOne: !nested.list,
        syntax: (property.docs?.summary ?? '').endsWith(' block.') ? 'block' : 'attribute',
        body: readBody(assembly, nested.fqn, `${nested.fqn}OutputReference`, false, doubts),
      };
    } else {
      attributes[name] = { required: property.optional !== true, kind: valueKind(property.type) };
    }
  }
  const getters = (assembly.types[getterClassFqn]?.properties ?? []).filter((p) => p.static !== true);
  const getterNames = new Set(getters.map((p) => p.name));
  for (const getter of getters) {
    if (getter.name.endsWith('Input') || getter.name === 'internalValue') continue;
    if (settableCdkNames.has(getter.name) || getterNames.has(`${getter.name}Input`)) continue;
    computed.add(snakeCase(getter.name));
  }
  return { attributes, blocks, computed: [...computed].sort() };
}

/** Every resource, data source and the provider block of one CDK provider assembly. */
export function schemaFromAssembly(assembly: JsiiAssembly): ProviderSchema {
  const resources: Record<string, BodySchema> = {};
  const dataSources: Record<string, BodySchema> = {};
  let provider: { name: string; source: string; version: string; body: BodySchema } | undefined;
  const doubts: Doubts = { unanchored: [], withoutConfig: [] };
  for (const type of Object.values(assembly.types)) {
    if (type.kind !== 'class') continue;
    const link = CLASS_LINK.exec(type.docs?.summary ?? '');
    if (!link) continue;
    const [, namespace, providerName, version, kind, terraformType] = link;
    const configFqn = type.initializer?.parameters?.find((p) => p.name === 'config')?.type.fqn;
    if (!configFqn || !assembly.types[configFqn] || !terraformType || !providerName || !namespace || !version) {
      doubts.withoutConfig.push(type.fqn);
      continue;
    }
    const body = readBody(assembly, configFqn, type.fqn, true, doubts);
    if (kind === 'resources') resources[terraformType] = body;
    else if (kind === 'data-sources') dataSources[terraformType] = body;
    else provider = { name: terraformType, source: `registry.terraform.io/${namespace}/${providerName}`, version, body };
  }
  if (!provider) throw new Error(`${assembly.name}: no provider class found in the .jsii`);
  return {
    provider: provider.name,
    source: provider.source,
    version: provider.version,
    origin: `${assembly.name}@${assembly.version}`,
    providerConfig: provider.body,
    resources,
    dataSources,
    doubts,
  };
}
