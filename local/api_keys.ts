/**
 * Key lifecycle with table-owner rights: create, list, revoke, rotate. The one module behind
 * `deno task keys` (local/keys.ts is a thin CLI over it), the dev server's demo key and the test
 * fixtures. Creating, revoking and rotating go through the SQL functions the API's endpoints use
 * (internal.create_api_key, revoke_api_key, rotate_api_key: supabase/migrations), so there is
 * one way to mint, revoke and rotate; the operator names the org, where the API takes it from the
 * caller's key. Only a key's SHA-256 and display prefix are stored; its plaintext is returned
 * once. "Now" is the database's clock, the one the gateway checks revoked_at and expires_at
 * against.
 */
import {
  API_KEY_PATTERN,
  API_KEY_PREFIX_LENGTH,
  generateApiKey,
  hashApiKey,
} from "../supabase/functions/api-gateway/kit/key.ts";
import {
  isPermission,
  type Permission,
  PERMISSIONS,
} from "../supabase/functions/api-gateway/permissions.ts";
import type { Query } from "./sql_db.ts";

/** A refusal with a one-line reason meant for the person at the terminal. */
export class KeyError extends Error {
  override name = "KeyError";
}

export interface NewKey {
  orgId: string;
  name?: string;
  permissions: string[];
  expiresAt?: Date | null;
  revokedAt?: Date | null;
}

/** Writes a key row directly: stores only its hash and display prefix, returns the plaintext
 * once. No checks beyond the table's own and no limit: test fixtures use it to make revoked,
 * expired and odd keys. People, the demo key and the API go through internal.create_api_key
 * (issueKey). */
export async function createApiKey(
  query: Query,
  key: NewKey,
): Promise<{ id: string; prefix: string; plaintext: string }> {
  const plaintext = generateApiKey();
  const prefix = plaintext.slice(0, API_KEY_PREFIX_LENGTH);
  const rows = await query<{ id: string }>(
    `insert into public.api_keys (org_id, name, key_hash, prefix, permissions, expires_at, revoked_at)
     values ($1, $2, $3, $4, $5::text[], $6, $7) returning id`,
    [
      key.orgId,
      key.name ?? "key",
      await hashApiKey(plaintext),
      prefix,
      key.permissions,
      key.expiresAt ?? null,
      key.revokedAt ?? null,
    ],
  );
  return { id: rows[0].id, prefix, plaintext };
}

// ---- parsing what people type ----

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DURATION = /^(\d{1,9})([smhd])$/;
const SECONDS_PER = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
// A calendar date, or a date and time with seconds optional and an explicit zone (Z or ±hh:mm).
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** "contacts:read,contacts:write": each checked against PERMISSIONS, duplicates dropped. */
export function parsePermissions(list: string): Permission[] {
  const names = list.split(",").map((p) => p.trim()).filter(Boolean);
  if (names.length === 0) throw new KeyError(`no permission given (one of ${PERMISSIONS})`);
  const unknown = names.find((p) => !isPermission(p));
  if (unknown !== undefined) {
    throw new KeyError(`unknown permission "${unknown}" (known: ${PERMISSIONS.join(", ")})`);
  }
  return [...new Set(names as Permission[])];
}

/** An ISO 8601 date (2027-01-01, midnight UTC) or date-time with a zone
 * (2027-01-01T09:30:00Z, ...+02:00) in the future. */
export function parseExpiry(text: string, now = new Date()): Date {
  const date = new Date(text);
  // Date rolls 2027-02-30 over to March 2: the calendar day must survive the round trip.
  const [y, m, d] = text.slice(0, 10).split("-").map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  if (
    !ISO_DATE.test(text) || Number.isNaN(date.getTime()) || day.getUTCMonth() !== m - 1 ||
    day.getUTCDate() !== d
  ) {
    throw new KeyError(
      `"${text}" is not an ISO 8601 date (2027-01-01) or date-time with a zone ` +
        "(2027-01-01T09:30:00Z)",
    );
  }
  if (date.getTime() <= now.getTime()) {
    throw new KeyError(`the expiry ${date.toISOString()} is not in the future`);
  }
  return date;
}

/** "30s", "15m", "2h", "7d" (a whole number and one unit) as seconds. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m) {
    throw new KeyError(`"${text}" is not a duration: a whole number and s, m, h or d (30s, 7d)`);
  }
  return Number(m[1]) * SECONDS_PER[m[2] as keyof typeof SECONDS_PER];
}

// ---- operations ----

/** A key as listed: never its hash. Times are the database's. */
export interface KeyInfo {
  id: string;
  orgId: string;
  prefix: string;
  name: string;
  description: string | null;
  permissions: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const KEY_FIELDS = [
  "id",
  "org_id",
  "prefix",
  "name",
  "description",
  "permissions",
  "created_at",
  "last_used_at",
  "expires_at",
  "revoked_at",
];
/** The listed columns, optionally qualified; never key_hash. */
const columns = (table = "") => KEY_FIELDS.map((f) => table + f).join(", ");
const KEY_COLUMNS = columns();

type KeyRow = {
  id: string;
  org_id: string;
  prefix: string;
  name: string;
  description: string | null;
  permissions: string[];
  created_at: Date | string;
  last_used_at: Date | string | null;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
};

// Drivers differ in how they hand times over (a Date, or text): both are read.
const time = (v: Date | string | null) => v === null ? null : new Date(v);
const toInfo = (r: KeyRow): KeyInfo => ({
  id: r.id,
  orgId: r.org_id,
  prefix: r.prefix,
  name: r.name,
  description: r.description,
  permissions: r.permissions,
  createdAt: new Date(r.created_at),
  lastUsedAt: time(r.last_used_at),
  expiresAt: time(r.expires_at),
  revokedAt: time(r.revoked_at),
});

async function assertOrg(query: Query, orgId: string): Promise<void> {
  const found = UUID.test(orgId) &&
    (await query<{ id: string }>("select id from public.orgs where id = $1", [orgId])).length > 0;
  if (!found) throw new KeyError(`unknown org ${orgId}`);
}

/** The outcome and data of one of the key functions in schema internal. */
type KeyOutcome<D> = { outcome: string; data?: D };

const LIMIT_REACHED = "the org has as many live keys as it may (orgs.max_api_keys, else 100): " +
  "revoke one first";

/** A new key for an existing org, with known permissions and an optional future expiry, through
 * internal.create_api_key (the API's own), which enforces the org's live-key limit. */
export async function issueKey(
  query: Query,
  key: {
    orgId: string;
    name: string;
    permissions: string[];
    description?: string | null;
    expiresAt?: Date | null;
  },
): Promise<{ id: string; prefix: string; plaintext: string }> {
  const permissions = parsePermissions(key.permissions.join(","));
  if (key.name.trim() === "") throw new KeyError("the key's name is empty");
  if (key.name.length > 120) throw new KeyError("the key's name is longer than 120 characters");
  if ((key.description?.length ?? 0) > 500) {
    throw new KeyError("the description is longer than 500 characters");
  }
  await assertOrg(query, key.orgId);
  const plaintext = generateApiKey();
  const [{ r }] = await query<{ r: KeyOutcome<{ id: string; prefix: string }> }>(
    `select internal.create_api_key($1::uuid, $2, $3, $4::text[], $5, $6::timestamptz) as r`,
    [key.orgId, plaintext, key.name, permissions, key.description ?? null, key.expiresAt ?? null],
  );
  if (r.outcome === "too_many_api_keys") throw new KeyError(LIMIT_REACHED);
  if (r.outcome !== "ok" || !r.data) throw new KeyError(`the key was not created (${r.outcome})`);
  return { id: r.data.id, prefix: r.data.prefix, plaintext };
}

/** The org's keys, newest first. */
export async function listKeys(query: Query, orgId: string): Promise<KeyInfo[]> {
  await assertOrg(query, orgId);
  const rows = await query<KeyRow>(
    `select ${KEY_COLUMNS} from public.api_keys where org_id = $1 order by created_at desc, id`,
    [orgId],
  );
  return rows.map(toInfo);
}

/** One key by its id, its display prefix (or the start of one, if only one key has it), or
 * the whole key. */
export async function findKey(query: Query, ref: string): Promise<KeyInfo> {
  let rows: KeyRow[];
  if (UUID.test(ref)) {
    rows = await query<KeyRow>(`select ${KEY_COLUMNS} from public.api_keys where id = $1`, [ref]);
  } else if (API_KEY_PATTERN.test(ref)) {
    rows = await query<KeyRow>(
      `select ${KEY_COLUMNS} from public.api_keys where key_hash = $1`,
      [await hashApiKey(ref)],
    );
  } else if (/^wbk_[0-9A-Za-z]{1,8}$/.test(ref)) {
    rows = await query<KeyRow>(
      `select ${KEY_COLUMNS} from public.api_keys where left(prefix, length($1)) = $1
       order by created_at limit 10`,
      [ref],
    );
  } else {
    throw new KeyError(
      `"${ref}" is neither a key id (a UUID) nor a key prefix (wbk_ and up to 8 more characters)`,
    );
  }
  if (rows.length === 0) throw new KeyError(`no key has the id or prefix ${ref}`);
  if (rows.length > 1) {
    const ids = rows.map((r) => `${r.prefix} (${r.id})`).join(", ");
    throw new KeyError(`the prefix ${ref} is ambiguous: ${ids}; give the id`);
  }
  return toInfo(rows[0]);
}

/** Revokes a key now, through internal.revoke_api_key: the gateway refuses it from the next
 * request on. A key already revoked stays as it was; a rotated key still in its grace period is
 * cut short. The operator may revoke an org's last admin key (the API may not: an org would lose
 * its way to manage keys; the operator can always mint another). */
export async function revokeKey(query: Query, ref: string): Promise<KeyInfo> {
  const key = await findKey(query, ref);
  const [{ r }] = await query<{ r: KeyOutcome<unknown> }>(
    "select internal.revoke_api_key($1::uuid, $2::uuid, true) as r",
    [key.orgId, key.id],
  );
  if (r.outcome !== "ok") throw new KeyError(`${describe(key)} was not revoked (${r.outcome})`);
  return await findKey(query, key.id);
}

const describe = (key: KeyInfo) => `the key ${key.prefix} (${key.id})`;

/** A new key with the old one's org, name, description, permissions and expiry (`expiresAt`
 * replaces the expiry when given); the old key expires `graceSeconds` from now (0: at once), or
 * at its own expiry if that comes first. Through internal.rotate_api_key (the API's own), in one
 * transaction. A key that is revoked or expired is refused, not rotated: rotating must not bring
 * a dead key back to life (a key in its grace period is still live, and can be rotated). */
export async function rotateKey(
  query: Query,
  ref: string,
  options: { graceSeconds?: number; expiresAt?: Date | null } = {},
): Promise<
  {
    old: KeyInfo;
    created: { id: string; prefix: string; plaintext: string; expiresAt: Date | null };
  }
> {
  const key = await findKey(query, ref);
  const graceSeconds = options.graceSeconds ?? 0;
  if (graceSeconds > 604_800) throw new KeyError("the grace period is at most 7d");
  const plaintext = generateApiKey();
  const [{ r }] = await query<
    { r: KeyOutcome<{ key: { id: string; prefix: string; expires_at: string | null } }> }
  >(
    `select internal.rotate_api_key($1::uuid, $2::uuid, $3, $4::integer, $5::timestamptz) as r`,
    [key.orgId, key.id, plaintext, graceSeconds, options.expiresAt ?? null],
  );
  if (r.outcome === "api_key_not_active") throw new KeyError(await whyNotRotated(query, key));
  if (r.outcome === "too_many_api_keys") throw new KeyError(LIMIT_REACHED);
  if (r.outcome !== "ok" || !r.data) throw new KeyError(`${describe(key)} is gone`);
  const made = r.data.key;
  return {
    old: await findKey(query, key.id),
    created: { id: made.id, prefix: made.prefix, plaintext, expiresAt: time(made.expires_at) },
  };
}

/** Why rotateKey found nothing to rotate, by the database's clock. */
async function whyNotRotated(query: Query, key: KeyInfo): Promise<string> {
  const [state] = await query<{ revoked: boolean; expired: boolean }>(
    `select coalesce(revoked_at <= now(), false) as revoked,
            coalesce(expires_at <= now(), false) as expired
     from public.api_keys where id = $1`,
    [key.id],
  );
  const name = describe(key);
  if (state?.revoked) return `${name} is already revoked: nothing to rotate; create a new key`;
  if (state?.expired) return `${name} has expired: nothing to rotate; create a new key`;
  return `${name} is gone`;
}
