export * from './action.js';
export * from './approval.errors.js';
export * from './decide.js';
