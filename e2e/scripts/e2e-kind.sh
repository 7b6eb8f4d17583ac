#!/usr/bin/env bash
# make e2e-kind: the product on a kind cluster, for machines with Docker (CI does not need it:
# it runs `make e2e` against a local kube-apiserver instead).
#  1. in-cluster: builds the image, creates a kind cluster, installs the chart, deploys a demo
#     backend, applies a ModelRoute and a Tenant, waits for Programmed=True and sends a chat
#     completion through the proxy Service;
#  2. the same suite as `make e2e` (e2e/src/stack, e2e/src/crds.test.ts) against the kind API
#     server (JAIROUTER_E2E_KUBECONFIG), after `helm uninstall` so that the in-cluster operator
#     does not reconcile the suite's objects too. SUITE=0 skips it; KEEP=0 deletes the cluster.
# Needs: docker, kind, kubectl, helm on PATH (kubectl and helm: `npx jairouter-envtest build`
# puts them in ~/.cache/jairouter/k8s/bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${KIND_CLUSTER:-jairouter-e2e}
IMAGE=${IMAGE:-ghcr.io/jairouter/jairouter:e2e}
NS=jairouter-system
APP=ai
export PATH="$PATH:${JAIROUTER_CACHE:-$HOME/.cache/jairouter}/k8s/bin"
for t in docker kind kubectl helm; do command -v "$t" >/dev/null || { echo "e2e-kind: $t is not installed" >&2; exit 1; }; done

docker build -t "$IMAGE" .
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s
kind load docker-image "$IMAGE" --name "$CLUSTER"
kubectl config use-context "kind-$CLUSTER"

helm upgrade --install jairouter charts/jairouter -n "$NS" --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never --wait --timeout 5m

kubectl create namespace "$APP" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$APP" apply -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo-backend}
spec:
  replicas: 2
  selector: {matchLabels: {app: demo-backend}}
  template:
    metadata: {labels: {app: demo-backend}}
    spec:
      containers:
        - name: demo
          image: $IMAGE
          imagePullPolicy: Never
          command: [jairouter-demo-backend, --host, 0.0.0.0, --port, "8000", --name, in-cluster]
          ports: [{containerPort: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: demo-backend}
spec:
  selector: {app: demo-backend}
  ports: [{port: 8000, targetPort: 8000}]
---
apiVersion: v1
kind: Secret
metadata: {name: e2e-keys}
stringData: {ci: sk-e2e-kind}
---
apiVersion: jairouter.io/v1alpha1
kind: Tenant
metadata: {name: e2e}
spec:
  apiKeys: {secretRefs: [{name: e2e-keys}]}
---
apiVersion: jairouter.io/v1alpha1
kind: ModelRoute
metadata: {name: demo}
spec:
  models: [demo-chat]
  backends:
    - name: demo
      adapter: vllm
      serviceRef: {name: demo-backend, port: 8000}
YAML
kubectl -n "$APP" rollout status deploy/demo-backend --timeout 3m
kubectl -n "$APP" wait modelroute/demo --for=condition=Programmed --timeout 2m

kubectl -n "$NS" port-forward svc/jairouter-proxy 18080:80 >/tmp/jairouter-e2e-kind-pf.log 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.2; done
answer=$(curl -sf http://127.0.0.1:18080/v1/chat/completions -H 'Authorization: Bearer sk-e2e-kind' \
  -H 'Content-Type: application/json' -d '{"model":"demo-chat","messages":[{"role":"user","content":"hello kind"}]}')
echo "$answer" | grep -q 'Hello from in-cluster' || { echo "e2e-kind: unexpected answer: $answer" >&2; exit 1; }
echo "e2e-kind: chat completion through the proxy Service OK"
kill $pf 2>/dev/null || true

if [[ ${SUITE:-1} == 1 ]]; then
  helm uninstall jairouter -n "$NS" --wait
  kind get kubeconfig --name "$CLUSTER" >"${TMPDIR:-/tmp}/jairouter-e2e-kind.kubeconfig"
  JAIROUTER_E2E_KUBECONFIG="${TMPDIR:-/tmp}/jairouter-e2e-kind.kubeconfig" \
    npx vitest run e2e/src/stack e2e/src/crds.test.ts
  echo "e2e-kind: the e2e suite passed against the kind API server"
fi
if [[ ${KEEP:-1} == 0 ]]; then kind delete cluster --name "$CLUSTER"
else echo "e2e-kind: passed (delete the cluster with: kind delete cluster --name $CLUSTER)"; fi
