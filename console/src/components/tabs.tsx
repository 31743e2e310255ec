import type { ComponentChildren } from 'preact';

/** A row of tabs over one list (Active / All, Pending / History...), with room for extra buttons. */
export function Tabs<T extends string>(props: {
  tabs: Readonly<Record<T, { label: string }>>;
  selected: T;
  onSelect: (tab: T) => void;
  children?: ComponentChildren;
}) {
  return (
    <div class="tabs" role="tablist">
      {(Object.keys(props.tabs) as T[]).map((key) => (
        <button
          key={key}
          type="button"
          role="tab"
          aria-selected={props.selected === key}
          class={props.selected === key ? 'tab selected' : 'tab'}
          onClick={() => props.onSelect(key)}
        >
          {props.tabs[key].label}
        </button>
      ))}
      {props.children}
    </div>
  );
}
