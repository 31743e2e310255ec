import { describe, expect, it } from 'vitest';
import { defaultWebProcesses, divideWeb, ingestInFlight, postgresOnThisHost } from './web-cluster.js';

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

describe('postgresOnThisHost', () => {
  it('knows the embedded Postgres, loopback hosts and Unix sockets', () => {
    expect(postgresOnThisHost(undefined)).toBe(true);
    expect(postgresOnThisHost('postgres://postgres@127.0.0.1:5432/test')).toBe(true);
    expect(postgresOnThisHost('postgres://vigil@LOCALHOST/vigil')).toBe(true);
    expect(postgresOnThisHost('postgres://vigil@[::1]:5432/vigil')).toBe(true);
    expect(postgresOnThisHost('postgres:///vigil?host=/run/postgresql')).toBe(true);
    expect(postgresOnThisHost('postgresql://%2Frun%2Fpostgresql/vigil')).toBe(true);
  });

  it('takes any other host for another machine', () => {
    expect(postgresOnThisHost('postgres://vigil@db.internal:5432/vigil')).toBe(false);
    expect(postgresOnThisHost('postgres://vigil@10.0.0.5/vigil')).toBe(false);
    expect(postgresOnThisHost('postgres://vigil@127.example.com/vigil')).toBe(false);
    // An empty host parameter is ignored, as pg ignores it.
    expect(postgresOnThisHost('postgres://vigil@db.internal/vigil?host=')).toBe(false);
  });

  it('reads a socket path with a percent sign in it, as pg does', () => {
    expect(postgresOnThisHost('postgres://db.internal/vigil?host=/tmp/a%25b')).toBe(true);
    expect(postgresOnThisHost('postgres://%2Ftmp%2Fa%25b/vigil')).toBe(true);
  });
});

describe('defaultWebProcesses', () => {
  it('runs one process per core when Postgres is elsewhere', () => {
    expect(defaultWebProcesses(2, false)).toBe(2);
    expect(defaultWebProcesses(8, false)).toBe(8);
  });

  it('leaves Postgres half the cores when it shares the machine', () => {
    expect(defaultWebProcesses(2, true)).toBe(1);
    expect(defaultWebProcesses(3, true)).toBe(2);
    expect(defaultWebProcesses(8, true)).toBe(4);
    expect(defaultWebProcesses(1, true)).toBe(1);
  });
});
