import type { Logger } from './logger.js';

/**
 * The `error` handler of a connection that reconnects by itself (a pg client or pool, ioredis,
 * a BullMQ queue or worker). Without one, Node turns the event into a crash; with a naive one,
 * an outage writes a line per reconnection attempt. This writes one line per `quietMs` at most,
 * with the error's code and message only: error objects of some clients carry connection options.
 */
export function logConnectionErrors(
  logger: Logger,
  connection: string,
  quietMs = 30_000,
): (error: unknown) => void {
  let lastLogged = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error: unknown) => {
    const now = Date.now();
    if (now - lastLogged < quietMs) {
      suppressed += 1;
      return;
    }
    lastLogged = now;
    const { code, message } = describe(error);
    logger.warn(
      { connection, code, error: message, suppressedSinceLast: suppressed },
      `${connection} connection error; it reconnects by itself`,
    );
    suppressed = 0;
  };
}

function describe(error: unknown): { code: string | undefined; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { code: undefined, message: String(error) };
}
