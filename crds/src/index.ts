export * from './api/common.ts';
export * from './api/model-route.ts';
export * from './api/tenant.ts';
export * from './api/rate-limit-policy.ts';
export * from './proxy-config.ts';
export * from './implemented-adapters.ts';
export * from './resources.ts';
export * from './compile/index.ts';
