import type { ColumnType, Generated } from 'kysely';

type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A person (or the API service): roles belong here (2026-12-01T1700_persons). */
export interface PersonsTable {
  id: Generated<string>;
  kind: Generated<string>;
  display_name: string | null;
  /** Null until an admin grants one. */
  role: string | null;
  role_granted_by: string | null;
  /** The role the identity provider's claim mapped to at the last sign-in (2026-12-01T2100_console_sessions). */
  claimed_role: string | null;
  disabled_at: NullableTimestamp;
  disabled_by: string | null;
  /** Linked into another person: this one has no identities left; older audit rows still name it. */
  merged_into: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

/** One identity of a person: `slack:<team>:<user>`, `teams:<tenant>:<object ID>`, `service:api`... */
export interface PersonIdentitiesTable {
  key: string;
  person_id: string;
  display_name: string | null;
  linked_by: string | null;
  /** The identity's user principal name when its platform told it (2026-12-01T2010), for Graph's `assignedTo`. */
  upn: ColumnType<string | null, string | null | undefined, string | null>;
  /** The e-mail address the platform reported, looked up once (2026-12-02T1200_identity_email). */
  email: ColumnType<string | null, string | null | undefined, string | null>;
  /** The platform (or identity provider) vouches for the address. */
  email_verified: ColumnType<boolean, boolean | undefined, boolean>;
  /** Why this identity may not be linked by e-mail (guest, external...); null: it may. */
  auto_link_refusal: ColumnType<string | null, string | null | undefined, string | null>;
  email_looked_up_at: NullableTimestamp;
  email_lookup_queued_at: NullableTimestamp;
  /** Unlinked by an admin or revoked when the person was disabled: it can no longer act. */
  revoked_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

/** A personal API token, stored as the SHA-256 of the token. */
export interface ApiTokensTable {
  id: Generated<string>;
  person_id: string;
  /** The token this one was created with, if any: revoking it revokes this one too. */
  parent_id: string | null;
  name: string;
  token_hash: string;
  role_cap: string;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

/** A console sign-in under way: what the callback checks, keyed by the hash of the login cookie. */
export interface OidcLoginsTable {
  id_hash: string;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  expires_at: ColumnType<Date, Date | string, Date | string>;
}

/** A console session, keyed by the SHA-256 of its cookie. */
export interface ConsoleSessionsTable {
  id: Generated<string>;
  id_hash: string;
  person_id: string;
  /** The identity signed in with (`oidc:<issuer>:<sub>`): unlinking it ends the session. */
  identity_key: string;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  revoked_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

export interface PersonTables {
  persons: PersonsTable;
  person_identities: PersonIdentitiesTable;
  api_tokens: ApiTokensTable;
  oidc_logins: OidcLoginsTable;
  console_sessions: ConsoleSessionsTable;
}
