export * from './silence.js';
