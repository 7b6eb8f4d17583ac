import { GROUP, VERSION } from '../api/common.ts';
import { isJsonObject, type JSONSchemaProps } from './json-schema-props.ts';
import { KINDS, type KindDefinition, type PrinterColumn } from './kinds.ts';
import { toStructural } from './structural.ts';
import { zodJsonSchema } from './zod-json-schema.ts';

export const CATEGORY = 'jairouter';

/** An apiextensions.k8s.io/v1 CustomResourceDefinition, as much of it as we write. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }>;
  };
}

// The texts every Kubernetes type carries (from k8s.io/apimachinery TypeMeta).
const API_VERSION_DESCRIPTION =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DESCRIPTION =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/** The CRD of one kind. Pure: same zod schema in, same object out. */
export function buildCrd(def: KindDefinition): CustomResourceDefinition {
  const json = zodJsonSchema(def.schema);
  const props = json['properties'];
  if (!isJsonObject(props)) throw new Error(`${def.kind}: the zod schema is not an object`);
  const expected = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
  if (Object.keys(props).sort().join() !== expected.join()) {
    throw new Error(`${def.kind}: top-level fields must be ${expected.join(', ')}, got ${Object.keys(props).join(', ')}`);
  }
  // keys in alphabetical order, like every node toStructural() writes
  const openAPIV3Schema: JSONSchemaProps = {
    description: def.description,
    properties: {
      apiVersion: { description: API_VERSION_DESCRIPTION, type: 'string' },
      kind: { description: KIND_DESCRIPTION, type: 'string' },
      // The API server owns ObjectMeta's schema; a CRD may only say it is an object.
      metadata: { type: 'object' },
      spec: toStructural(props['spec'], 'spec'),
      status: toStructural(props['status'], 'status'),
    },
    required: ['spec'],
    type: 'object',
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: [...def.shortNames],
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

/** The CRDs of every kind, in KINDS order. */
export function buildCrds(): CustomResourceDefinition[] {
  return KINDS.map(buildCrd);
}
