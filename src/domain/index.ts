/** The pure core of Vigil. Other folders use the domain through this file only. */
export * from './actor.js';
export * from './alert/index.js';
export * from './approval/index.js';
export * from './audit.js';
export * from './clock.js';
export * from './investigation/index.js';
export * from './oncall/index.js';
export * from './outbox.js';
export * from './person/index.js';
export * from './policy/index.js';
export * from './ports.js';
export * from './remediation/index.js';
export * from './result.js';
export * from './roles.js';
export * from './silence/index.js';
