import { once } from 'node:events';
import { open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';

const CHUNK_BYTES = 64 * 1024;

/**
 * POSTs a file's bytes (Slack's upload URL from files.getUploadURLExternal) through one reused
 * 64 KiB buffer, each read waiting for the last chunk to reach the socket: the process holds one
 * chunk whatever the file's size. fetch copied every chunk it was given (and Readable.toWeb read
 * the whole file ahead), leaving tens of MB of buffers per export for the next collection.
 * Resolves with the HTTP status.
 */
export async function postFile(
  url: string,
  path: string,
  size: number,
  contentType: string,
  timeoutMs: number,
): Promise<number> {
  const target = new URL(url);
  const request = (target.protocol === 'https:' ? https : http).request(target, {
    method: 'POST',
    headers: { 'content-type': contentType, 'content-length': String(size) },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const answered = once(request, 'response') as Promise<[http.IncomingMessage]>;
  // A failure while writing is reported by the write; this one is awaited once the body is sent.
  answered.catch(() => {});
  const file = await open(path);
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      await new Promise<void>((resolve, reject) =>
        request.write(chunk.subarray(0, bytesRead), (error) => (error ? reject(error) : resolve())),
      );
    }
  } catch (error) {
    request.destroy();
    throw error;
  } finally {
    await file.close();
  }
  request.end();
  const [response] = await answered;
  response.resume();
  return response.statusCode ?? 0;
}
