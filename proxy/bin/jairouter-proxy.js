#!/usr/bin/env node
// Entry point of the jairouter-proxy binary (TypeScript sources, no build step, and what happens on
// an older Node: see @jairouter/crds/require-node).
import { requireNode } from '@jairouter/crds/require-node';

await requireNode(import.meta.url);
// Node caches compiled modules, TypeScript stripping included, so a restart neither strips
// the sources again nor loads the stripper (about 18 MB less resident memory).
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/main.ts');
