import {
  API_KEY_PREFIX_LENGTH,
  generateApiKey,
  hashApiKey,
} from "../supabase/functions/api-gateway/lib/api_key.ts";
import type { Query } from "./sql_db.ts";

export interface NewKey {
  orgId: string;
  name?: string;
  permissions: string[];
  expiresAt?: Date | null;
  revokedAt?: Date | null;
}

/** Mints a key: stores only its hash and display prefix, returns the plaintext once.
 * `query` must run with table-owner rights (service_role cannot insert keys). */
export async function createApiKey(
  query: Query,
  key: NewKey,
): Promise<{ id: string; plaintext: string }> {
  const plaintext = generateApiKey();
  const rows = await query<{ id: string }>(
    `insert into public.api_keys (org_id, name, key_hash, prefix, permissions, expires_at, revoked_at)
     values ($1, $2, $3, $4, $5::text[], $6, $7) returning id`,
    [
      key.orgId,
      key.name ?? "key",
      await hashApiKey(plaintext),
      plaintext.slice(0, API_KEY_PREFIX_LENGTH),
      key.permissions,
      key.expiresAt ?? null,
      key.revokedAt ?? null,
    ],
  );
  return { id: rows[0].id, plaintext };
}
