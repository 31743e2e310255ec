/** An item known by name whose content is compared as canonical JSON. */
export interface Named<T> {
  readonly name: string;
  readonly value: T;
}

/** What applying a desired list to the current one does, by name. */
export interface NamedDiff<C, D> {
  readonly added: readonly Named<D>[];
  readonly changed: readonly { readonly name: string; readonly before: C; readonly after: D }[];
  readonly removed: readonly Named<C>[];
  readonly unchanged: readonly string[];
}

/** JSON with object keys sorted, so two equal values always read the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** Compares by name; `same` decides whether a kept name changed (defaults to canonical JSON equality). */
export function diffByName<C, D>(
  current: readonly Named<C>[],
  desired: readonly Named<D>[],
  same: (before: C, after: D) => boolean = (a, b) => canonicalJson(a) === canonicalJson(b),
): NamedDiff<C, D> {
  const currentBy = new Map(current.map((item) => [item.name, item.value]));
  const desiredNames = new Set(desired.map((item) => item.name));
  const added: Named<D>[] = [];
  const changed: { name: string; before: C; after: D }[] = [];
  const unchanged: string[] = [];
  for (const item of desired) {
    if (!currentBy.has(item.name)) added.push(item);
    else {
      const before = currentBy.get(item.name) as C;
      if (same(before, item.value)) unchanged.push(item.name);
      else changed.push({ name: item.name, before, after: item.value });
    }
  }
  return { added, changed, removed: current.filter((item) => !desiredNames.has(item.name)), unchanged };
}
