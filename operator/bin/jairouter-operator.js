#!/usr/bin/env node
// Entry point of the jairouter-operator binary (TypeScript sources, no build step: see
// proxy/bin/require-node.js, shared rather than copied).
import { requireNode } from '../../proxy/bin/require-node.js';

requireNode(import.meta.url);
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli.ts');
