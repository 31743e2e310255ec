export * from './escalation.js';
export * from './schedule.js';
