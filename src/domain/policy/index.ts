export * from './matchers.js';
export * from './policy.diff.js';
export * from './policy.evaluate.js';
export * from './policy.js';
export * from './policy.schema.js';
export * from './remediation-plan.js';
export * from './remediation-targets.js';
