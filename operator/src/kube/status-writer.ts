import { GROUP, VERSION } from '@jairouter/crds';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { ObjectStatusBody } from '../reconcile/status.ts';
import { PLURALS, type CustomKind } from '../reconcile/reconcile.ts';

export const FIELD_MANAGER = 'jairouter-operator';

export interface StatusTarget {
  kind: CustomKind;
  namespace: string;
  name: string;
}

export interface StatusWriter {
  /** Writes `.status`; resolves to the object's new resourceVersion, or undefined when the object is gone. */
  write(target: StatusTarget, status: ObjectStatusBody): Promise<string | undefined>;
}

/**
 * Merge patch on the status subresource. The content type is set explicitly: client-node's
 * typed patch methods default to JSON Patch, which would reject this body. A merge patch
 * replaces the conditions list as a whole, which is what a single writer wants.
 */
export class KubeStatusWriter implements StatusWriter {
  readonly #api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
  }

  async write(target: StatusTarget, status: ObjectStatusBody): Promise<string | undefined> {
    try {
      const updated = (await this.#api.patchNamespacedCustomObjectStatus(
        {
          group: GROUP, version: VERSION, plural: PLURALS[target.kind], namespace: target.namespace, name: target.name,
          body: { status }, fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as { metadata?: { resourceVersion?: string } };
      return updated.metadata?.resourceVersion ?? '';
    } catch (e) {
      if (httpStatus(e) === 404) return undefined; // deleted meanwhile: the informer will tell
      throw e;
    }
  }
}

/** The HTTP status of a client-node ApiException (or a watch error), if any. */
export function httpStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { code?: unknown; statusCode?: unknown };
  if (typeof o.code === 'number') return o.code;
  if (typeof o.statusCode === 'number') return o.statusCode;
  return undefined;
}
