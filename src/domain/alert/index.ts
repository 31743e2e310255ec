export * from './alert.errors.js';
export * from './alert.js';
export * from './alert.machine.js';
export * from './alert.sync.js';
export * from './dedupe.js';
export * from './entity-key.js';
export * from './ingest-event.js';
export * from './text.js';
