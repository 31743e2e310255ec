export * from './auto-link.js';
export * from './person.js';
