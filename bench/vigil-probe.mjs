/**
 * Preloaded into a bench's Vigil process (`node --import ./bench/vigil-probe.mjs dist/cli.js …`,
 * started with an IPC channel): counts every query any pg Client of the process sends (BEGIN and
 * COMMIT included) and answers the parent's 'probe' message with that count and the process's
 * CPU time, so a bench can read what Vigil itself spent without sharing its event loop.
 * Plain JavaScript because it runs before anything could compile TypeScript.
 */
import { appendFileSync } from 'node:fs';
import pg from 'pg';

let queries = 0;
// VIGIL_PROBE_LOG=<path> also writes the text of each query to <path>.<pid>, to see which ones a change added.
const log = process.env.VIGIL_PROBE_LOG;
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  queries += 1;
  if (log !== undefined) {
    const text = typeof args[0] === 'string' ? args[0] : args[0]?.text;
    appendFileSync(`${log}.${process.pid}`, `${String(text).replace(/\s+/g, ' ')}\n`);
  }
  return original.apply(this, args);
};

if (process.send !== undefined) {
  process.on('message', (message) => {
    if (message === 'probe') {
      const cpu = process.cpuUsage();
      process.send({ queries, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
  });
  // The channel must not keep a stopping Vigil alive (a 'message' listener refs it).
  process.channel?.unref();
}
