export * from './remediation.devices.js';
export * from './remediation.due.js';
export * from './remediation.errors.js';
export * from './remediation.js';
export * from './remediation.machine.js';
export * from './remediation.notifier.js';
