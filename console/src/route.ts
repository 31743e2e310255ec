import { useEffect, useState } from 'preact/hooks';

/**
 * Routes live in the URL fragment (`#/alerts/42`): the server serves one page for the whole
 * console, and a fragment never reaches the server or its logs.
 */
export interface Route {
  readonly page: string;
  readonly id: string | undefined;
}

export function parseRoute(hash: string): Route {
  const [page = 'alerts', id] = hash.replace(/^#\/?/, '').split('?')[0]?.split('/') ?? [];
  return {
    page: page === '' ? 'alerts' : page,
    id: id === undefined || id === '' ? undefined : decodeURIComponent(id),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

export const href = (page: string, id?: string): string =>
  id === undefined ? `#/${page}` : `#/${page}/${encodeURIComponent(id)}`;
