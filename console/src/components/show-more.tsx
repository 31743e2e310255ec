import type { ComponentChildren } from 'preact';

/** The most rows a list page asks for at once. */
const MAX_LIMIT = 500;

/**
 * "Show more" under a list that has a next page: doubles the page size, up to the API's cap.
 * `children` follow the button (a line saying how many are shown, say).
 */
export function ShowMore(props: {
  readonly limit: number;
  readonly setLimit: (limit: number) => void;
  readonly children?: ComponentChildren;
}) {
  return (
    <p>
      <button
        type="button"
        onClick={() => props.setLimit(Math.min(props.limit * 2, MAX_LIMIT))}
        disabled={props.limit >= MAX_LIMIT}
      >
        Show more
      </button>
      {props.children === undefined ? null : <> {props.children}</>}
    </p>
  );
}
