import { API_VERSION } from '@jairouter/crds';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ConditionTransition } from '../reconcile/status.ts';
import type { CustomKind } from '../reconcile/reconcile.ts';

export const COMPONENT = 'jairouter-operator';

export interface EventTarget {
  kind: CustomKind;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventRecorder {
  transition(target: EventTarget, t: ConditionTransition): Promise<void>;
}

/** Warning for a spec or reference problem; Programmed=False is a normal step of every rollout. */
export function eventType(t: ConditionTransition): 'Normal' | 'Warning' {
  return t.to === 'True' || t.type === 'Programmed' ? 'Normal' : 'Warning';
}

/** core/v1 Events (what `kubectl describe` shows), one per condition transition, reason = the condition's reason. */
export class KubeEventRecorder implements EventRecorder {
  readonly #api: CoreV1Api;
  readonly #instance: string;

  constructor(kc: KubeConfig, instance: string) {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#instance = instance;
  }

  async transition(target: EventTarget, t: ConditionTransition): Promise<void> {
    const now = new Date();
    await this.#api.createNamespacedEvent({
      namespace: target.namespace,
      body: {
        metadata: { generateName: `${target.name}.`, namespace: target.namespace },
        involvedObject: {
          apiVersion: API_VERSION, kind: target.kind, namespace: target.namespace, name: target.name,
          ...(target.uid !== undefined && { uid: target.uid }),
        },
        reason: t.reason,
        message: `${t.type}=${t.to}: ${t.message}`.slice(0, 1024),
        type: eventType(t),
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: this.#instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
}
