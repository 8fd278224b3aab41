import type { Generated } from 'kysely';

/** The `read` schema as Kysely sees it (written by projection-service, read by the gateway). */
export interface ReadDatabase {
  'read.users': { id: string; email: string; display_name: string; version: number; created_at: Date };
  'read.notebooks': {
    id: string;
    owner_id: string;
    title: string;
    description: string | null;
    visibility: string;
    forked_from_id: string | null;
    forked_from_version: number | null;
    deleted: Generated<boolean>;
    version: number;
    created_at: Date;
    updated_at: Date;
  };
  'read.cells': {
    notebook_id: string;
    id: string;
    kind: string;
    value: string;
    position: number;
    is_closed: boolean;
    created_at: Date;
    updated_at: Date;
  };
  'read.collaborators': { notebook_id: string; user_id: string; role: string };
}
