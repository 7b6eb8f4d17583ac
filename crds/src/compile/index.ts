export { compile, type CompileResult } from './compile.ts';
export type {
  BackendStatus, CompiledCondition, ModelRouteObjectStatus, ObjectStatus, RateLimitPolicyObjectStatus, TenantObjectStatus,
} from './status.ts';
