export * from './person.js';
export * from './auto-link.js';
