// What the API key route tests share: the shapes the API shows a key in, reads of the stored
// rows, and the property suite's undo of what a success did to the tenants' keys.
import assert from "node:assert/strict";
import type { Query } from "../../local/sql_db.ts";
import { hashApiKey, isWellFormedKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import type { Tenant } from "./fixtures.ts";
import type { DbTarget } from "./targets.ts";
import { ISO_UTC } from "./webhooks.ts";

export const LISTED_FIELDS = [
  "created_at",
  "description",
  "expires_at",
  "id",
  "last_used_at",
  "name",
  "permissions",
  "prefix",
  "revoked_at",
];
export const NEW_KEY_FIELDS = [
  "created_at",
  "description",
  "expires_at",
  "id",
  "key",
  "name",
  "permissions",
  "prefix",
];

/** A creation's or rotation's `data`: exactly its fields, a well-formed key and its prefix. */
export function assertNewKey(data: unknown): { id: string; key: string } {
  const k = data as Record<string, unknown>;
  assert.deepEqual(Object.keys(k).sort(), NEW_KEY_FIELDS);
  assert.ok(isWellFormedKey(k.key as string), "a key of the documented format, checksum included");
  assert.equal(k.prefix, (k.key as string).slice(0, 12));
  assert.match(k.created_at as string, ISO_UTC);
  if (k.expires_at !== null) assert.match(k.expires_at as string, ISO_UTC);
  return { id: k.id as string, key: k.key as string };
}

/** A listed key: exactly its fields, metadata only. */
export function assertListedKey(item: unknown) {
  const k = item as Record<string, unknown>;
  assert.deepEqual(Object.keys(k).sort(), LISTED_FIELDS);
  assert.match(k.created_at as string, ISO_UTC);
  assert.ok((k.prefix as string).length <= 12);
}

export interface StoredKey {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  key_hash: string;
  prefix: string;
  permissions: string[];
  expires_at: string | null;
  revoked_at: string | null;
}

/** The row of a key, times as ISO text (null when there is none). */
export async function storedKey(owner: Query, id: string): Promise<StoredKey | null> {
  const [row] = await owner<StoredKey>(
    `select id, org_id, name, description, key_hash, prefix, permissions,
            to_char(expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as expires_at,
            to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as revoked_at
     from public.api_keys where id = $1`,
    [id],
  );
  return row ?? null;
}

/** The stored row of a plaintext key: it must be there by its hash, and never by itself. */
export async function storedByPlaintext(owner: Query, key: string): Promise<StoredKey> {
  const [row] = await owner<{ id: string }>(
    "select id from public.api_keys where key_hash = $1",
    [await hashApiKey(key)],
  );
  assert.ok(row, "the key is stored by its hash");
  const [{ n }] = await owner<{ n: number }>(
    `select count(*)::int as n from public.api_keys k where strpos(k::text, $1) > 0`,
    [key],
  );
  assert.equal(n, 0, "no row holds the plaintext");
  return (await storedKey(owner, row.id))!;
}

/** The property suites' check of a success that minted a key (create, rotate): the key is in
 * the answer, stored in the caller's org by its hash, and nowhere in the clear. */
export async function checkMintedKey(
  { target, tenant }: { target: DbTarget; tenant: Tenant },
  json: unknown,
): Promise<void> {
  const { key } = assertNewKey((json as { data: unknown }).data);
  const row = await storedByPlaintext(target.owner, key);
  assert.equal(row.org_id, tenant.orgId);
}

/** Live keys of the org, by the database's clock. */
export async function liveKeys(owner: Query, orgId: string): Promise<number> {
  const [{ n }] = await owner<{ n: number }>(
    `select count(*)::int as n from public.api_keys
     where org_id = $1 and (revoked_at is null or revoked_at > now())
       and (expires_at is null or expires_at > now())`,
    [orgId],
  );
  return n;
}

/** The property suite's undo: the tenants' keys as createTenant made them (keys a success
 * minted are deleted, the fixture keys that were live are live again), so every generated
 * request finds the keys its generator expects. */
export async function restoreTenantKeys(
  { target, tenants }: { target: DbTarget; tenants: Tenant[] },
) {
  const ids = tenants.flatMap((t) => Object.values(t.keyIds));
  const dead = tenants.flatMap((t) => [t.keyIds[t.keys.revoked], t.keyIds[t.keys.expired]]);
  await target.owner(
    "delete from public.api_keys where org_id = any($1::uuid[]) and id <> all($2::uuid[])",
    [tenants.map((t) => t.orgId), ids],
  );
  await target.owner(
    `update public.api_keys set revoked_at = null, expires_at = null
     where id = any($1::uuid[]) and id <> all($2::uuid[])`,
    [ids, dead],
  );
}
