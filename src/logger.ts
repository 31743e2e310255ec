import { pino } from 'pino';

/** Headers and fields that carry secrets; pino replaces them before anything is written. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-slack-signature"]',
  'req.headers.cookie',
  '*.token',
  '*.password',
  '*.secret',
  '*.routing_key',
];

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { app: 'vigil' } });
}
