import type { ComponentChildren } from 'preact';
import { ApiError } from '../api';
import { STATUS_LABELS } from '../format';
import type { AlertStatus, Severity } from '../types';

export const SeverityBadge = ({ severity }: { severity: Severity }) => (
  <span class={`badge sev-${severity}`}>{severity}</span>
);

export const StatusBadge = ({ status }: { status: AlertStatus }) => (
  <span class={`badge status-${status}`} data-status={status}>
    {STATUS_LABELS[status] ?? status}
  </span>
);

/**
 * What a page shows while its data is not there: loading, the API missing on this Vigil
 * ("not available yet", for features another release adds), or the API's refusal.
 */
export function Loadable<T>(props: {
  data: T | undefined;
  error: Error | undefined;
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  const { data, error, what } = props;
  if (error instanceof ApiError && error.notAvailable) {
    return (
      <p class="notice unavailable" data-testid="not-available">
        {`${what}: not available yet. This Vigil does not have that API; the page fills in once it does.`}
      </p>
    );
  }
  if (data === undefined) {
    return error === undefined ? <p class="muted">Loading…</p> : <p class="notice error">{error.message}</p>;
  }
  return (
    <>
      {error !== undefined && <p class="notice error">{`Could not refresh: ${error.message}`}</p>}
      {props.children(data)}
    </>
  );
}

export const ErrorLine = ({ message }: { message: string | undefined }) =>
  message === undefined ? null : (
    <p class="notice error" role="alert">
      {message}
    </p>
  );
