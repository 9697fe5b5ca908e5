import { createApiKey } from "../../local/api_keys.ts";
import type { Query } from "../../local/sql_db.ts";
import { type Permission, PERMISSIONS } from "../../supabase/functions/api-gateway/permissions.ts";
import { storedSecret } from "./secrets.ts";
import { WEBHOOK_EVENT_TYPES } from "../../supabase/functions/api-gateway/webhooks/events.ts";

export interface Tenant {
  orgId: string;
  companyIds: string[];
  /** Sorted. */
  contactIds: string[];
  /** Two webhook endpoints (both event types, active): the first has one pending delivery. */
  webhookIds: string[];
  /** The delivery of webhookIds[0]. */
  deliveryIds: string[];
  /** The id of each of `keys`, by plaintext. */
  keyIds: Record<string, string>;
  /** Plaintext keys. */
  keys: {
    /** Exactly one permission. */
    only: Record<Permission, string>;
    /** Every permission but one. */
    without: Record<Permission, string>;
    /** Every permission. */
    all: string;
    /** Every permission, revoked an hour ago. */
    revoked: string;
    /** Every permission, expired an hour ago. */
    expired: string;
    /** Shorthands: only["contacts:write"], only["contacts:read"]. */
    write: string;
    read: string;
  };
}

export interface TenantOptions {
  companies?: number;
  contacts?: number;
  /** The org's plan (default starter). */
  plan?: string;
  /** Per-org overrides. Unless given, both are set so high that no test is throttled by
   * accident; `null` leaves the plan's limit in force. */
  perMinute?: number | null;
  perDay?: number | null;
  /** The org's webhook endpoint limit (default: unlimited, as the rate limits). */
  maxWebhooks?: number | null;
  /** The org's live API key limit (default: unlimited; null: the default, 100). */
  maxApiKeys?: number | null;
}

const UNTHROTTLED = 1_000_000_000;

/** A fresh org with its own companies, contacts and keys, so tests never share state. */
export async function createTenant(owner: Query, opts: TenantOptions = {}): Promise<Tenant> {
  const [{ id: orgId }] = await owner<{ id: string }>(
    `insert into public.orgs
       (name, plan, rate_limit_per_minute, rate_limit_per_day, max_webhook_endpoints, max_api_keys)
     values ($1, $2, $3, $4, $5, $6) returning id`,
    [
      `test org ${crypto.randomUUID().slice(0, 8)}`,
      opts.plan ?? "starter",
      opts.perMinute === undefined ? UNTHROTTLED : opts.perMinute,
      opts.perDay === undefined ? UNTHROTTLED : opts.perDay,
      opts.maxWebhooks === undefined ? UNTHROTTLED : opts.maxWebhooks,
      opts.maxApiKeys === undefined ? UNTHROTTLED : opts.maxApiKeys,
    ],
  );
  const companyIds = (await owner<{ id: string }>(
    `insert into public.companies (org_id, name)
     select $1, 'company ' || g from generate_series(1, $2::int) g returning id`,
    [orgId, opts.companies ?? 2],
  )).map((r) => r.id);
  const contactIds = (await owner<{ id: string }>(
    `insert into public.contacts (org_id, full_name, email)
     select $1, 'contact ' || g, 'c' || g || '@example.com' from generate_series(1, $2::int) g
     returning id`,
    [orgId, opts.contacts ?? 5],
  )).map((r) => r.id).sort();

  const keyIds: Record<string, string> = {};
  const mint = async (permissions: readonly string[], extra: object = {}) => {
    const key = await createApiKey(owner, { orgId, permissions: [...permissions], ...extra });
    keyIds[key.plaintext] = key.id;
    return key.plaintext;
  };
  const hourAgo = new Date(Date.now() - 3_600_000);
  const only = {} as Record<Permission, string>;
  const without = {} as Record<Permission, string>;
  for (const p of PERMISSIONS) {
    only[p] = await mint([p]);
    without[p] = await mint(PERMISSIONS.filter((q) => q !== p));
  }
  const keys = {
    only,
    without,
    all: await mint(PERMISSIONS),
    revoked: await mint(PERMISSIONS, { revokedAt: hourAgo }),
    expired: await mint(PERMISSIONS, { expiresAt: hourAgo }),
    write: only["contacts:write"],
    read: only["contacts:read"],
  };
  const { webhookIds, deliveryIds } = await createWebhooks(owner, orgId);
  return { orgId, companyIds, contactIds, webhookIds, deliveryIds, keyIds, keys };
}

/** Two endpoints of the org (https to the test resolver's public name, both event types), and one
 * pending delivery of an event to the first. */
async function createWebhooks(owner: Query, orgId: string) {
  const webhookIds = (await owner<{ id: string }>(
    `insert into public.webhook_endpoints (org_id, url, events, secret)
     select $1, 'https://hooks.example.com/' || g, $2::text[], $3
     from generate_series(1, 2) g returning id`,
    [orgId, [...WEBHOOK_EVENT_TYPES], (await storedSecret()).stored],
  )).map((r) => r.id);
  const [{ id: eventId }] = await owner<{ id: string }>(
    `insert into public.webhook_events (org_id, type, body) values ($1, $2, $3) returning id`,
    [orgId, "company.contacts_linked", JSON.stringify({ type: "company.contacts_linked" })],
  );
  const deliveryIds = (await owner<{ id: string }>(
    `insert into public.webhook_deliveries (org_id, event_id, endpoint_id)
     values ($1, $2, $3) returning id`,
    [orgId, eventId, webhookIds[0]],
  )).map((r) => r.id);
  return { webhookIds, deliveryIds };
}

/** Every plaintext key of the tenants, for leak checks. */
export const allKeys = (...tenants: Tenant[]) =>
  tenants.flatMap((t) => [
    ...Object.values(t.keys.only),
    ...Object.values(t.keys.without),
    t.keys.all,
    t.keys.revoked,
    t.keys.expired,
  ]);

/** company_id of each contact, keyed by contact id (null when unlinked). */
export async function companyOf(owner: Query, contactIds: string[]) {
  const rows = await owner<{ id: string; company_id: string | null }>(
    "select id, company_id from public.contacts where id = any($1::uuid[])",
    [contactIds],
  );
  return Object.fromEntries(rows.map((r) => [r.id, r.company_id]));
}

/** The org's usage today (UTC) as the limiter counts it: the sum over its slots, and of the
 * current minute's counts. */
export async function usageOf(owner: Query, orgId: string, now = new Date()) {
  const [row] = await owner<{ day: number; minute: number }>(
    `select coalesce(sum(day_used), 0)::int as day,
            coalesce(sum(minute_used) filter (where minute = date_trunc('minute', $2::timestamptz, 'UTC')), 0)::int
              as minute
     from public.api_usage
     where org_id = $1 and day = ($2::timestamptz at time zone 'UTC')::date`,
    [orgId, now.toISOString()],
  );
  return { day: row.day, minute: row.minute };
}

/** Every rate-limit token the org ever took: its day counters summed over every day and slot. No
 * clock window, unlike usageOf: a minute or a day that turns between two reads cannot change it,
 * so tests on the real clock compare this. */
export async function tokensTaken(owner: Query, orgId: string): Promise<number> {
  const [row] = await owner<{ n: number }>(
    "select coalesce(sum(day_used), 0)::int as n from public.api_usage where org_id = $1",
    [orgId],
  );
  return row.n;
}

/** A digest of the business data, every row of every table in public except the metering (the
 * usage counters and api_keys.last_used_at, which every counted request may write): equal
 * digests mean the request changed nothing a client can see or rely on.
 *
 * One statement for every table, rebuilt whenever the tables change (it returns the table list
 * it was built for). The property suite digests after each of thousands of requests, and most
 * of a digest's cost is planning that statement: with `oneSession` (the owner is a single
 * session, as PGlite is) it is prepared in the session once and only executed after. A pool's
 * connections would each need their own, so a pool plans it every time. */
export async function databaseDigest(
  owner: Query,
  { oneSession = false }: { oneSession?: boolean } = {},
): Promise<string> {
  const cached = digestStatements.get(owner);
  if (cached) {
    const [r] = await owner<{ tables: string; digest: string }>(cached.run, []);
    if (r.tables === cached.tables) return r.digest;
    if (cached.prepared) await owner(`deallocate ${cached.prepared}`, []);
  }
  const [{ tables }] = await owner<{ tables: string }>(`select ${DIGESTED_TABLES} as tables`, []);
  const parts = tables.split(",").map((name) => {
    const row = name === "api_keys" ? "(to_jsonb(t) - 'last_used_at')::text" : "t::text";
    return `(select '${name}:' || count(*) || ':' ||
               md5(coalesce(string_agg(${row}, E'\\n' order by ${row}), '')) from public.${name} t)`;
  });
  const sql = `select ${DIGESTED_TABLES} as tables, concat_ws(' ', ${parts.join(", ")}) as digest`;
  const prepared = oneSession
    ? `test_digest_${crypto.randomUUID().replaceAll("-", "")}`
    : undefined;
  if (prepared) await owner(`prepare ${prepared} as ${sql}`, []);
  const run = prepared ? `execute ${prepared}` : sql;
  digestStatements.set(owner, { tables, run, prepared });
  const [r] = await owner<{ digest: string }>(run, []);
  return r.digest;
}
const DIGESTED_TABLES = `(select string_agg(c.relname, ',' order by c.relname) from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname <> 'api_usage')`;
/** Per owner: the table list, what runs the statement, and its prepared name, if prepared. */
const digestStatements = new WeakMap<
  Query,
  { tables: string; run: string; prepared?: string }
>();

/** The metering state of the whole database: usage rows and every key's last use. */
export async function meteringDigest(owner: Query): Promise<string> {
  const [r] = await owner<{ digest: string }>(
    `select md5(coalesce((select string_agg(u::text, ',' order by u::text) from public.api_usage u), '')
            || '|' ||
            coalesce((select string_agg(k.id || ':' || coalesce(k.last_used_at::text, '-'), ','
                      order by k.id) from public.api_keys k), '')) as digest`,
    [],
  );
  return r.digest;
}
