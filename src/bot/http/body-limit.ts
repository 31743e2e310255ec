import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';

/** The largest body Vigil accepts, on every route. */
export const BODY_LIMIT = 1024 * 1024;

/**
 * How much of a body over the limit is read and thrown away before the 413 is sent. A server
 * that answers and closes while the client is still sending resets the connection: `fetch`, Go
 * and most senders then see EPIPE or ECONNRESET instead of the 413, and retry forever.
 */
export const DISCARD_LIMIT = 8 * BODY_LIMIT;
/** Nor is a slow sender waited for longer than this. */
const DISCARD_MS = 5_000;

const tooLarge = () =>
  Object.assign(new Error(`The request body is over ${BODY_LIMIT} bytes (1 MiB).`), {
    statusCode: 413,
    code: 'FST_ERR_CTP_BODY_TOO_LARGE',
  });

/**
 * Passes the first BODY_LIMIT bytes of a body on to the parser; past that, reads the rest (up to
 * DISCARD_LIMIT bytes or DISCARD_MS) without keeping it, then fails with a 413. Parsers are given
 * DISCARD_LIMIT as their own limit, so a declared Content-Length up to it is read, not refused
 * unread, and this stream alone enforces BODY_LIMIT.
 */
class BoundedBody extends Transform {
  #received = 0;
  #timer: NodeJS.Timeout | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#received += chunk.length;
    if (this.#received <= BODY_LIMIT) {
      callback(null, chunk);
      return;
    }
    if (this.#timer === null) this.#timer = setTimeout(() => this.destroy(tooLarge()), DISCARD_MS);
    if (this.#received > DISCARD_LIMIT) {
      this.destroy(tooLarge());
      callback();
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#received > BODY_LIMIT) callback(tooLarge());
    else callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    callback(error);
  }
}

/** Registers the bound on every route of `app` (call before any route is registered). */
export function boundRequestBodies(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    // Without chunked encoding a body is exactly its Content-Length (none: no body), so one
    // declared within the limit needs no counting.
    const length = request.headers['content-length'];
    if (
      request.headers['transfer-encoding'] === undefined &&
      (length === undefined || Number(length) <= BODY_LIMIT)
    )
      return payload;
    const bounded = new BoundedBody();
    payload.on('error', (error) => bounded.destroy(error));
    return payload.pipe(bounded);
  });
}
