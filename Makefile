# Every target runs on the Node this repo brings (scripts/node-env.sh), whatever node the machine has.
SHELL := /bin/bash
NODE_BIN := $(shell scripts/node-env.sh)
export PATH := $(NODE_BIN):$(PATH)

.PHONY: deps typecheck generate check-generated test k8s-binaries e2e demo bench bench-peers bench-masking fuzz sim soak e2e-kind clean

node_modules/.stamp: package.json package-lock.json $(wildcard */package.json)
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.stamp

typecheck: deps
	npx tsc -p tsconfig.json

## Regenerates every generated file (CRD manifests, docs/reference/crds.md, docs/metrics.md's table).
generate: deps
	node crds/scripts/generate.ts
	node proxy/scripts/generate-metrics-doc.ts
	node operator/scripts/generate-metrics-doc.ts

## Fails when a generated file differs from what `make generate` would write.
check-generated: deps
	node crds/scripts/generate.ts --check
	node proxy/scripts/generate-metrics-doc.ts --check
	node operator/scripts/generate-metrics-doc.ts --check

## The whole test suite: typecheck, generated files, unit and integration tests.
test: deps typecheck check-generated
	npx vitest run $(VITEST_ARGS)

## Builds kube-apiserver, etcd, kubectl and helm for the local control plane (jairouter-envtest,
## e2e/), and the tests' Prometheus, promtool and Jaeger (@jairouter/testkit/observability), into
## ~/.cache/jairouter/k8s with the machine's Go: minutes the first time, then nothing.
k8s-binaries:
	bash e2e/testkit/scripts/build-k8s-binaries.sh

## Only the tests against the local control plane (they run in `make test` too).
e2e: deps k8s-binaries
	npx vitest run e2e $(VITEST_ARGS)

## Starts two demo backends and the proxy on examples/quickstart.yaml.
demo: deps
	bash scripts/demo.sh

## 100,000 adversarial requests against the proxy binary (proxy/test/fuzz.test.ts); prints its figures.
## FUZZ_SEED picks the sequence. `make test` runs the same with 1,500.
fuzz: deps
	FUZZ_REQUESTS=$${FUZZ_REQUESTS:-100000} FUZZ_REPORT=1 npx vitest run proxy/test/fuzz.test.ts

## The routing simulation at full size: RoundRobin, LeastConnections and LoadAware on fake vLLM
## engines (docs/routing.md). `make test` runs a small one. Not a test.
sim: deps
	node proxy/scripts/simulate.ts

## Endurance: a million requests through the proxy binary, RSS and fds sampled (SOAK_REQUESTS to
## change it; bench/README.md). `make test` runs a short one. Not a test.
soak: deps
	node proxy/scripts/soak.ts

## Benchmarks against nginx and the Portkey gateway (see bench/README.md). Not a test.
bench: deps
	bash bench/run.sh

## The benchmark's Python peer, LiteLLM's proxy, in a venv outside the repo (~/.cache/jairouter/litellm-venv);
## bench/run.sh skips the target without it. prisma and opentelemetry-sdk are what its image ships.
bench-peers:
	python3 -m venv $${XDG_CACHE_HOME:-$$HOME/.cache}/jairouter/litellm-venv
	$${XDG_CACHE_HOME:-$$HOME/.cache}/jairouter/litellm-venv/bin/pip install -q 'litellm[proxy]' prisma opentelemetry-sdk

## What response masking adds to a stream's time to first token (docs/masking.md). Not a test.
bench-masking: deps
	node bench/mask-ttft.mjs

clean:
	rm -rf node_modules */node_modules

## The product on a kind cluster, then the e2e suite against it (needs Docker and kind; kubectl
## and helm come from k8s-binaries); CI uses `make e2e` instead.
e2e-kind: deps k8s-binaries
	bash e2e/scripts/e2e-kind.sh
