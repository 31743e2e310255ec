import { sql } from 'kysely';
import {
  type EntityMatcher,
  type LabelMatcher,
  type MatcherProblem,
  matcherProblems,
  type PolicySpec,
  systemActor,
} from '../domain/index.js';
import { appendAudit } from './audit.repository.js';
import type { Db } from './db.js';
import { bumpPolicyGeneration, putPolicy } from './policy.repository.js';

/** A stored silence or policy whose pattern RE2 cannot run, and what start-up did about it. */
export interface DisabledPattern {
  readonly kind: 'silence' | 'policy';
  readonly id: string;
  /** The policy's name; a silence's comment. */
  readonly name: string;
  readonly problems: readonly MatcherProblem[];
}

/**
 * Finds the silences and enabled policies saved before patterns went through RE2 whose patterns
 * RE2 cannot run (backreferences, lookaround, over-long), and disables them: a silence ends now,
 * a policy is saved disabled (a new version). Each gets an audit row naming the field and the
 * reason; nothing is deleted. Chat routes, Teams subscriptions and investigation rules compare
 * exact values and hold no patterns.
 *
 * Runs at start-up in every process; the policy generation row's lock serialises them (and
 * `vigil policies apply`), so the second process finds nothing left to disable.
 */
export async function disableUnrunnablePatterns(db: Db, now: Date): Promise<DisabledPattern[]> {
  return db.transaction().execute(async (trx) => {
    await trx.selectFrom('policy_generation').select('generation').forUpdate().execute();
    const disabled: DisabledPattern[] = [];
    const silences = await trx
      .selectFrom('silences')
      .selectAll()
      .where('ends_at', '>', now)
      .forUpdate()
      .execute();
    for (const silence of silences) {
      const problems = matcherProblems(silence.labels as LabelMatcher[], silence.entities as EntityMatcher[]);
      if (problems.length === 0) continue;
      // A silence still to come is moved to have just ended: its window stays in the audit row.
      await trx
        .updateTable('silences')
        .set({
          ends_at: now,
          starts_at: sql`least(starts_at, ${now}::timestamptz - interval '1 millisecond')`,
        })
        .where('id', '=', silence.id)
        .execute();
      await appendAudit(trx, [
        {
          alertId: null,
          actor: systemActor,
          action: 'silence.disabled',
          details: {
            silenceId: silence.id,
            reason: 'pattern RE2 cannot run',
            problems,
            previousStartsAt: silence.starts_at.toISOString(),
            previousEndsAt: silence.ends_at.toISOString(),
          },
          at: now,
        },
      ]);
      disabled.push({ kind: 'silence', id: silence.id, name: silence.comment, problems });
    }
    const policies = await trx.selectFrom('policies').selectAll().where('enabled', '=', true).execute();
    for (const policy of policies) {
      const spec = policy.spec as unknown as PolicySpec;
      const problems = matcherProblems(
        spec.conditions?.labels ?? [],
        spec.conditions?.entities ?? [],
        'conditions.',
      );
      if (problems.length === 0) continue;
      await putPolicy(trx, policy.name, { ...spec, enabled: false }, null, systemActor, now, {
        action: 'policy.disabled',
        details: { reason: 'pattern RE2 cannot run', problems },
      });
      disabled.push({ kind: 'policy', id: policy.id, name: policy.name, problems });
    }
    if (disabled.length > 0) await bumpPolicyGeneration(trx);
    return disabled;
  });
}
