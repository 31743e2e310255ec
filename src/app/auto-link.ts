import { type DirectoryEntry, systemActor } from '../domain/index.js';
import { appendAudit } from '../storage/audit.repository.js';
import type { Db } from '../storage/db.js';
import { emailOf, recordDirectoryEntry, sameEmailElsewhere } from '../storage/identity-email.repository.js';
import type { CommandDeps } from './commands/command.js';
import { mergeSoleIdentity, sameAccountKeys } from './commands/people.js';

export type AutoLinkOutcome =
  | { readonly kind: 'linked'; readonly personId: string; readonly mergedPersonId: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'none' };

/**
 * Links the identity `key` to the person who has another identity with the same verified e-mail
 * address, when both may link by it (auto-link.ts in the domain says who may), in one transaction
 * audited as `person.linked_automatically` naming both identities. What the platform said
 * (`looked`) is cached on the identity in the same transaction. One person of the two must be
 * known by that one account alone (a first contact): two people who each have several
 * identities, or several people with the address, are left to an admin (audited as refused).
 */
export async function autoLinkByEmail(
  deps: CommandDeps,
  key: string,
  looked: DirectoryEntry | null,
): Promise<AutoLinkOutcome> {
  return deps.handle.db.transaction().execute(async (trx) => {
    const now = deps.clock.now();
    if (looked !== null) await recordDirectoryEntry(trx, sameAccountKeys(key), looked, now);
    const self = await emailOf(trx, key);
    if (self === null || self.email === null || !self.verified || self.refusal !== null)
      return { kind: 'none' } as const;
    const matches = await sameEmailElsewhere(trx, self.email, self.personId);
    const people = [...new Set(matches.map((match) => match.personId))];
    const [match] = matches;
    if (match === undefined) return { kind: 'none' } as const;
    const refuse = async (reason: string) => {
      await audit(
        trx,
        'person.auto_link_refused',
        { key, otherKeys: matches.map((m) => m.key), reason },
        now,
      );
      return { kind: 'refused', reason } as const;
    };
    if (people.length > 1) return refuse('more than one person has this verified e-mail address');
    if (!(await lockBoth(trx, self.personId, match.personId)))
      return refuse('one of the two people was merged or disabled meanwhile');
    // The person a first contact made joins the other; failing that, the other way round.
    let into = match.personId;
    let from = self.personId;
    let merged = await mergeSoleIdentity(trx, from, into, key);
    if (!merged.ok) {
      [into, from] = [from, into];
      const reverse = await mergeSoleIdentity(trx, from, into, match.key);
      if (!reverse.ok) return refuse(merged.error.message);
      merged = reverse;
    }
    await audit(
      trx,
      'person.linked_automatically',
      { personId: into, mergedPersonId: from, key, otherKey: match.key, email: self.email.toLowerCase() },
      now,
    );
    return { kind: 'linked', personId: into, mergedPersonId: from } as const;
  });
}

const audit = (trx: Db, action: string, details: Record<string, unknown>, at: Date) =>
  appendAudit(trx, [{ alertId: null, actor: systemActor, action, details, at }]);

/** Locks both people (in one order, so two lookups at once cannot deadlock); false if either is gone. */
async function lockBoth(trx: Db, a: string, b: string): Promise<boolean> {
  const rows = await trx
    .selectFrom('persons')
    .select('id')
    .where('id', 'in', [a, b])
    .where('merged_into', 'is', null)
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute();
  return rows.length === 2;
}
