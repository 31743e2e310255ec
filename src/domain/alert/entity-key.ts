import type { EntityKind } from './alert.js';

/** Entity kinds as alerts name them, plus `app`, as investigations and the watchlist do. */
export type KeyedKind = EntityKind | 'app';

/** Kinds whose identity provider compares without case: the whole key is lower-cased. */
const CASE_INSENSITIVE: ReadonlySet<KeyedKind> = new Set<KeyedKind>([
  // Entra ID user principal names and e-mail addresses; SIDs and object IDs.
  'user',
  'mailbox',
  // DNS host names and device IDs.
  'device',
  // Application (client) IDs are GUIDs.
  'oauth_application',
  'cloud_application',
  'app',
  // The Windows registry ignores case.
  'registry_key',
  'registry_value',
]);

const HASH = /^[0-9a-f]{32,128}$/i;
const URL_AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/** An IPv6 address in its RFC 5952 form (`2001:DB8:0::1` → `2001:db8::1`); anything else lower-cased. */
function ipKey(ip: string): string {
  const lower = ip.toLowerCase();
  if (!lower.includes(':')) return lower;
  try {
    const host = new URL(`http://[${lower}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return lower;
  }
}

/**
 * The key an entity is stored, matched and joined under: identity keys compare as their
 * identity provider does, so `CFO@Contoso.com` and `cfo@contoso.com` are one user for the
 * watchlist, privileged users, investigations, silences and policies alike.
 *
 * - user, mailbox, device (and a device's trailing DNS dot), app IDs, registry paths: lower case;
 * - ip: IPv6 in its canonical compressed form, lower case;
 * - file: hashes (32 to 128 hex digits) lower case; paths as sent (Unix paths are case-sensitive);
 * - url: scheme and host lower case; path, query and fragment as sent;
 * - any other kind: as sent. Leading and trailing white space is never part of a key.
 *
 * Display names are not keys: they stay as the source sent them.
 */
export function entityKey(kind: KeyedKind, raw: string): string {
  const key = raw.trim();
  if (CASE_INSENSITIVE.has(kind)) {
    const lower = key.toLowerCase();
    return kind === 'device' && lower.length > 1 ? lower.replace(/\.$/, '') : lower;
  }
  switch (kind) {
    case 'ip':
      return ipKey(key);
    case 'file':
      return HASH.test(key) ? key.toLowerCase() : key;
    case 'url': {
      const authority = URL_AUTHORITY.exec(key)?.[0];
      return authority === undefined ? key : `${authority.toLowerCase()}${key.slice(authority.length)}`;
    }
    default:
      return key;
  }
}
