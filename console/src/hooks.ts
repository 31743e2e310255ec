import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: ApiError | Error | undefined;
  readonly loading: boolean;
  /** Fetch again now (after a button changed something). */
  readonly refresh: () => Promise<void>;
}

/**
 * Loads `load()` and reloads it every `intervalMs`, so pages follow changes made elsewhere (a
 * Slack click, a worker) without a reload. Polling rather than SSE: any `vigil web` process can
 * answer, nothing is held open, and 2.5 s is quick enough for a queue people watch.
 */
export function usePolling<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  intervalMs = 2500,
): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);

  const run = useCallback(async () => {
    const mine = generation.current;
    try {
      const value = await load();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (caught) {
      if (mine !== generation.current) return;
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, deps);

  useEffect(() => {
    generation.current += 1;
    setLoading(true);
    setData(undefined);
    void run();
    const timer = setInterval(() => {
      // A hidden tab need not poll; it catches up when shown again.
      if (document.visibilityState === 'visible') void run();
    }, intervalMs);
    return () => {
      generation.current += 1;
      clearInterval(timer);
    };
  }, [run, intervalMs]);

  return { data, error, loading, refresh: run };
}

/** A button's action: busy while it runs, and its refusal as a message. */
export function useAction(): {
  busy: boolean;
  error: string | undefined;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.notAvailable
          ? 'Not available yet: this Vigil does not have that API.'
          : caught instanceof Error
            ? caught.message
            : String(caught),
      );
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(undefined) };
}
