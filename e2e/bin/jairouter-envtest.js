#!/usr/bin/env node
// Entry point of the jairouter-envtest binary: a local kube-apiserver + etcd for people and tests
// (TypeScript sources, no build step, and what happens on an older Node: see
// @jairouter/crds/require-node).
import { requireNode } from '@jairouter/crds/require-node';

await requireNode(import.meta.url);
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
