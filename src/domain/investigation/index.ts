export * from './investigation.errors.js';
export * from './investigation.js';
export * from './playbook.js';
export * from './rule.js';
export * from './scope.js';
