import { describe, expect, it } from 'vitest';
import { divideWeb, ingestInFlight } from './web-cluster.js';

describe('divideWeb', () => {
  it('divides the pool between the processes, never above it', () => {
    expect(divideWeb(2, 10)).toEqual({ processes: 2, poolEach: 5 });
    expect(divideWeb(8, 4)).toEqual({ processes: 4, poolEach: 1 });
  });
});

describe('ingestInFlight', () => {
  it('keeps about one ingest transaction per core on the host', () => {
    // serve, or web with one process, on 2 cores
    expect(ingestInFlight(2, 1, 10)).toBe(2);
    // web with one process per core: one each
    expect(ingestInFlight(2, 2, 5)).toBe(1);
    expect(ingestInFlight(8, 2, 20)).toBe(4);
  });

  it('leaves half the pool to other work, and keeps at least one', () => {
    expect(ingestInFlight(16, 1, 10)).toBe(5);
    expect(ingestInFlight(2, 1, 1)).toBe(1);
    expect(ingestInFlight(1, 4, 2)).toBe(1);
  });
});
