#!/usr/bin/env node
// Entry point of the jairouter-envtest binary: a local kube-apiserver + etcd for people and tests
// (TypeScript sources, no build step: see proxy/bin/require-node.js).
import { requireNode } from '../../proxy/bin/require-node.js';

requireNode(import.meta.url);
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
