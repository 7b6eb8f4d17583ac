#!/usr/bin/env node
// Entry point of the jairouter-operator binary (TypeScript sources, no build step, and what happens
// on an older Node: see @jairouter/crds/require-node).
import { requireNode } from '@jairouter/crds/require-node';

await requireNode(import.meta.url);
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli.ts');
