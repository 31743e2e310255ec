/** An expected outcome: callers branch on `ok` and on the error's stable `code`, never on message text. */
export type Result<T, E extends DomainError = DomainError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/** A refusal the domain expects and explains: translated to HTTP, Slack or Teams only at the edge. */
export interface DomainError<C extends string = string> {
  readonly code: C;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });

export const fail = <C extends string>(
  code: C,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): { readonly ok: false; readonly error: DomainError<C> } => ({
  ok: false,
  error: details === undefined ? { code, message } : { code, message, details },
});
