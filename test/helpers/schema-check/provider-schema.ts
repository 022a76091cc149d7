/**
 * The shape of a Terraform provider's schema as the check needs it: for every resource, data
 * source and the provider block itself, which arguments and nested blocks exist at each place,
 * which are required, which blocks allow at most one, and which attributes are computed-only.
 * Names are Terraform's (snake_case), not the CDK's.
 */

/** The kind of value an argument takes (enough to tell a literal of the wrong shape). */
export type ValueKind = 'string' | 'number' | 'bool' | 'list' | 'map' | 'any';

export interface AttributeSchema {
  readonly required: boolean;
  readonly kind: ValueKind;
}

export interface NestedSchema {
  readonly required: boolean;
  /** At most one block (the CDK types it as a single struct, not a list). */
  readonly maxOne: boolean;
  /**
   * `block`: only `name { … }` is valid. `attribute`: a list-of-objects argument, which
   * Terraform also accepts written as blocks (SDKv2 `ConfigModeAttr`), so both forms are valid.
   */
  readonly syntax: 'block' | 'attribute';
  readonly body: BodySchema;
}

export interface BodySchema {
  readonly attributes: Readonly<Record<string, AttributeSchema>>;
  readonly blocks: Readonly<Record<string, NestedSchema>>;
  /** Attributes the provider sets and the configuration cannot. */
  readonly computed: readonly string[];
}

export interface ProviderSchema {
  /** Local name, e.g. `azurerm`: the prefix of its resource types. */
  readonly provider: string;
  /** Registry source, e.g. `registry.terraform.io/hashicorp/azurerm`. */
  readonly source: string;
  /** The provider version the schema was generated from, e.g. `4.55.0`. */
  readonly version: string;
  /** The npm package and version it was read from. */
  readonly origin: string;
  readonly providerConfig: BodySchema;
  readonly resources: Readonly<Record<string, BodySchema>>;
  readonly dataSources: Readonly<Record<string, BodySchema>>;
  /** Where the reader had to guess: both lists are empty when its assumptions held. */
  readonly doubts: { readonly unanchored: readonly string[]; readonly withoutConfig: readonly string[] };
}
