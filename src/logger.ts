import { pino } from 'pino';
import { scrubbingOptions } from './log-scrub.js';

export type Logger = pino.Logger;

/** Vigil's logger: JSON lines, and no secret in them at any depth (see log-scrub.ts). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, base: { app: 'vigil' }, ...scrubbingOptions };
  return destination === undefined ? pino(options) : pino(options, destination);
}
