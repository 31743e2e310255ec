import { z } from 'zod';
import { autoLinkByEmail } from '../app/auto-link.js';
import type { Clock, DirectoryEntry } from '../domain/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { type LookupHint, lookupSubject } from '../storage/identity-email.repository.js';

export const identityLookupPayload = z.object({
  key: z.string().min(1).max(600),
  serviceUrl: z.string().max(2_000).optional(),
  conversationId: z.string().max(1_000).optional(),
});

/**
 * Where a platform is asked for an identity's e-mail (Slack `users.info`, the Bot Framework's
 * conversation member). Null: it cannot be asked from here (no conversation to ask in).
 */
export interface IdentityDirectory {
  readonly platform: 'slack' | 'teams';
  lookup(userId: string, hint: LookupHint): Promise<DirectoryEntry | null>;
}

/** `slack:T01:U02` → platform `slack`, user `U02` (the short `slack:U02` too). */
const parseKey = (key: string): { platform: string; userId: string } | null => {
  const parts = key.split(':');
  const [platform] = parts;
  const userId = parts.at(-1);
  return platform === undefined || userId === undefined || parts.length < 2 ? null : { platform, userId };
};

/**
 * Looks an identity's e-mail up once (the network call outside any transaction), then caches it
 * and links the identity by it where the rules allow, in one transaction. An identity already
 * looked up (an OIDC sign-in records its claims itself) is only linked.
 */
export async function lookUpIdentity(
  deps: {
    readonly handle: DbHandle;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly directories: readonly IdentityDirectory[];
  },
  payload: z.output<typeof identityLookupPayload>,
): Promise<void> {
  const subject = await lookupSubject(deps.handle.db, payload.key);
  if (subject === null || subject.revoked) return;
  let looked: DirectoryEntry | null = null;
  if (!subject.lookedUp) {
    const parsed = parseKey(payload.key);
    const directory = deps.directories.find((candidate) => candidate.platform === parsed?.platform);
    if (parsed === null || directory === undefined) return;
    const { key: _key, ...hint } = payload;
    looked = await directory.lookup(parsed.userId, hint);
    if (looked === null) return;
  }
  const outcome = await autoLinkByEmail(deps, payload.key, looked);
  if (outcome.kind !== 'none') deps.logger.info({ key: payload.key, ...outcome }, 'automatic link by e-mail');
}
