import { createToken } from '../../src/app/commands/tokens.js';
import { identify } from '../../src/app/identity.js';
import { type ActingPerson, type Role, systemClock, type UserActor } from '../../src/domain/index.js';
import type { TestVigil } from './harness.js';

/** The person behind a chat identity, as an adapter would find them (role from the database only). */
export async function personOf(vigil: TestVigil, actor: UserActor): Promise<ActingPerson> {
  const found = await identify(vigil.handle.db, actor, { admins: [], defaultRole: 'viewer' });
  if (!found.ok) throw new Error(found.error.message);
  return found.value;
}

export interface TokenPerson {
  readonly personId: string;
  readonly token: string;
  /** Headers that make `vigil.api` call as this person. */
  readonly as: { readonly authorization: string };
}

/**
 * A person (known by an OIDC-style identity named after them) with `role` granted through the
 * API by the API service, and a personal API token they created for themselves.
 */
export async function personWithToken(vigil: TestVigil, name: string, role: Role): Promise<TokenPerson> {
  const person = await personOf(vigil, { kind: 'user', platform: 'console', id: `test:${name}`, name });
  const granted = await vigil.api('POST', `/api/people/${person.personId}/role`, { role });
  if (granted.status !== 200) throw new Error(`granting ${role} to ${name}: ${granted.status}`);
  const created = await createToken(
    { handle: vigil.handle, clock: systemClock },
    { ...person, role },
    { name: `${name}'s test token` },
  );
  if (!created.ok) throw new Error(created.error.message);
  return {
    personId: person.personId,
    token: created.value.token,
    as: { authorization: `Bearer ${created.value.token}` },
  };
}
