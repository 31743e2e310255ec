import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { redisAnswers, redisServerArgs } from '../../src/demo/redis-server.js';

/** How a child ended: an exit code, or the signal that ended it. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Lines of output kept per process for diagnostics: enough to see why it died, bounded under a storm. */
const KEPT_LINES = 400;

const REPO = path.resolve(import.meta.dirname, '../..');

/**
 * One child process, its output kept (the last lines) and its end recorded. `killedByUs` tells
 * a planned kill from a process that ended on its own, which a fault test must not accept.
 */
export class ManagedProcess {
  readonly exited: Promise<ProcessExit>;
  exit: ProcessExit | null = null;
  killedByUs = false;
  private readonly lines: string[] = [];
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.keep(line);
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
      // A program that cannot start (not on the PATH) ends here, never in 'exit'.
      child.once('error', (error) => {
        this.keep(`spawn failed: ${error.message}`);
        this.exit ??= { code: null, signal: null };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Ended without being killed by the test. */
  get crashed(): boolean {
    return this.exit !== null && !this.killedByUs;
  }

  /** The last `count` lines of output, for a failure message. */
  tail(count = 40): string {
    return this.lines.slice(-count).join('\n');
  }

  /** The first line of output matching `pattern`, if any (the start of an error, say). */
  firstLine(pattern: RegExp): string | undefined {
    return this.lines.find((line) => pattern.test(line));
  }

  /** Resolves with the first line (already printed or still to come) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.firstLine(pattern);
        if (found !== undefined) return done(() => resolve(found));
        if (this.exit !== null) return done(() => reject(this.failure(`exited before printing ${pattern}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(this.failure(`printed no ${pattern} within ${timeoutMs} ms`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        settle();
      };
      this.watchers.add(check);
      check();
    });
  }

  /** Sends `signal` as the test's own decision, and waits for the end. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit> {
    if (this.exit !== null) return this.exit;
    this.killedByUs = true;
    this.child.kill(signal);
    return this.exited;
  }

  /** An error naming the process, how it ended and its last output. */
  failure(what: string): Error {
    const ended =
      this.exit === null ? 'still running' : `exit code ${this.exit.code}, signal ${this.exit.signal}`;
    return new Error(`${this.name} ${what} (${ended}); its last output:\n${this.tail()}`);
  }

  private keep(line: string): void {
    this.lines.push(line);
    if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES);
    this.notify();
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

/** A running `vigil web` or `vigil worker`; `url` is the web role's listener. */
export interface VigilProcess extends ManagedProcess {
  readonly role: 'web' | 'worker';
  readonly url: string | null;
}

/**
 * Every child a test starts, so that afterAll (or, at worst, the test runner's exit) can kill
 * them all: a fault test must leave no Vigil or redis-server behind, whatever failed.
 */
export class ProcessGroup {
  readonly processes: ManagedProcess[] = [];
  private readonly onExit = () => {
    for (const managed of this.processes) if (managed.alive) managed.child.kill('SIGKILL');
  };

  constructor() {
    process.once('exit', this.onExit);
  }

  spawn(name: string, command: string, args: readonly string[], env: Record<string, string> = {}) {
    const child = spawn(command, args, {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const managed = new ManagedProcess(name, child);
    this.processes.push(managed);
    return managed;
  }

  /**
   * Starts the built `vigil <role>` (dist/cli.js, as production does) and waits until it is
   * ready: the web role answers /readyz with 200, the worker logs "Vigil is running" (it needs
   * LOG_LEVEL info or lower). Fails with the process's output if it dies or stalls first.
   */
  async startVigil(
    name: string,
    role: 'web' | 'worker',
    env: Record<string, string>,
    timeoutMs = 60_000,
  ): Promise<VigilProcess> {
    const managed = this.spawn(name, process.execPath, ['dist/cli.js', role], env);
    const url = role === 'web' ? `http://${env.HOST ?? '127.0.0.1'}:${env.PORT}` : null;
    const vigil = Object.assign(managed, { role, url }) as VigilProcess;
    if (url === null) {
      await managed.waitForLine(/"msg":"Vigil is running"/, timeoutMs);
      return vigil;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!managed.alive) throw managed.failure('exited before it was ready');
      if (await answers(`${url}/readyz`)) return vigil;
      if (Date.now() > deadline) throw managed.failure(`was not ready within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Processes that ended without the test killing them. */
  crashed(): ManagedProcess[] {
    return this.processes.filter((managed) => managed.crashed);
  }

  /** The last output of every process, for a failed test's message. */
  diagnostics(lines = 30): string {
    return this.processes
      .map(
        (managed) => `--- ${managed.name} (${managed.alive ? 'running' : 'ended'})\n${managed.tail(lines)}`,
      )
      .join('\n');
  }

  async killAll(): Promise<void> {
    await Promise.all(this.processes.map((managed) => managed.kill('SIGKILL')));
    process.removeListener('exit', this.onExit);
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * A private redis-server on a fixed port, which the test may kill and start again empty on the
 * same port: the Vigil processes reconnect to the same URL, as they would after a Redis restart.
 */
export class KillableRedis {
  private current: ManagedProcess | null = null;
  private generation = 0;

  constructor(
    private readonly group: ProcessGroup,
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 10_000): Promise<void> {
    this.generation += 1;
    const server = this.group.spawn(
      `redis-${this.generation}`,
      'redis-server',
      redisServerArgs(this.port, this.dir),
    );
    this.current = server;
    const deadline = Date.now() + timeoutMs;
    while (!(await redisAnswers(this.url))) {
      if (!server.alive) throw server.failure('exited before answering PING');
      if (Date.now() > deadline) throw server.failure(`did not answer PING within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** kill -9: everything in it is gone. */
  async kill(): Promise<void> {
    await this.current?.kill('SIGKILL');
  }
}
