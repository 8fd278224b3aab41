import type { Generated } from 'kysely';

/** auth's own schema, as Kysely sees it. */
export interface AuthDatabase {
  'auth.users': {
    id: string;
    email: string;
    display_name: string;
    password_hash: string;
    created_at: Generated<Date>;
  };
  'auth.refresh_tokens': {
    token_hash: Buffer;
    family_id: string;
    user_id: string;
    expires_at: Date;
    rotated_at: Date | null;
    revoked_at: Date | null;
    created_at: Generated<Date>;
  };
  'auth.signing_keys': {
    kid: string;
    private_key_pem: string;
    created_at: Generated<Date>;
  };
  'auth.outbox': {
    id: Generated<string>;
    stream_id: string;
    events: string;
    actor_id: string | null;
    idempotency_key: string;
    created_at: Generated<Date>;
    published_at: Date | null;
  };
}
