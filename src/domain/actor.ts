import { fail, ok, type Result } from './result.js';

/** The chat or web surface a person acted from; named in every audit row. */
export const PLATFORMS = ['slack', 'teams', 'console', 'api'] as const;
export type Platform = (typeof PLATFORMS)[number];

/**
 * Who did something. People are known by platform and ID (`slack:U0123`); alert sources and
 * policies act too (an Alertmanager `resolved`, an auto-remediating policy), and so does Vigil itself.
 */
export type Actor =
  | {
      readonly kind: 'user';
      readonly platform: Platform;
      readonly id: string;
      readonly name?: string;
      /** The Slack workspace or Entra tenant the identity belongs to, where the platform says. */
      readonly tenant?: string;
      /** The Vigil person behind this identity, once resolved: what approval rules compare. */
      readonly personId?: string;
    }
  | { readonly kind: 'source'; readonly source: string }
  | { readonly kind: 'policy'; readonly policyId: string; readonly name: string }
  | { readonly kind: 'system' };

export const systemActor: Actor = { kind: 'system' };

/** The stable key of an actor: `slack:U0123`, `source:alertmanager`, `policy:<id>`, `system`. */
export function actorKey(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return `${actor.platform}:${actor.id}`;
    case 'source':
      return `source:${actor.source}`;
    case 'policy':
      return `policy:${actor.policyId}`;
    case 'system':
      return 'system';
  }
}

/**
 * The key the approval rules compare: `person:<id>` for a person (whatever surface or identity they
 * used), else the actor's own key (a policy, a source, Vigil).
 */
export function principalKey(actor: Actor): string {
  return actor.kind === 'user' && actor.personId !== undefined ? `person:${actor.personId}` : actorKey(actor);
}

/** What a person reads: the user's name where known, else the key. */
export function actorLabel(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return actor.name ?? `${actor.platform}:${actor.id}`;
    case 'source':
      return `${actor.source} (alert source)`;
    case 'policy':
      return `policy ${actor.name}`;
    case 'system':
      return 'Vigil';
  }
}

/** Parses a user key such as `slack:U0123` or `teams:<AAD object ID>` (used by VIGIL_ADMINS). */
export function parseUserKey(key: string): Result<Extract<Actor, { kind: 'user' }>> {
  const at = key.indexOf(':');
  const platform = key.slice(0, at);
  const id = key.slice(at + 1).trim();
  if (at <= 0 || id === '' || !(PLATFORMS as readonly string[]).includes(platform)) {
    return fail('actor.invalid_key', `"${key}" is not a user key; write platform:id, e.g. slack:U0123`);
  }
  return ok({ kind: 'user', platform: platform as Platform, id });
}
