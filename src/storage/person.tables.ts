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

export interface PersonTables {
  persons: PersonsTable;
  person_identities: PersonIdentitiesTable;
  api_tokens: ApiTokensTable;
}
