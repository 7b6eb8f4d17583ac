import type { Adapter } from './api/model-route.ts';

/**
 * The adapters the proxy of this release implements. The schema names every provider the API
 * will support; a backend whose adapter is not here yet is reported by compile() (reason
 * UnsupportedAdapter) instead of being silently skipped by the proxy. The proxy has a test
 * that its adapter registry matches this list.
 */
export const IMPLEMENTED_ADAPTERS: readonly Adapter[] = ['openai', 'vllm', 'ollama', 'xinference', 'localai', 'gpustack'];
