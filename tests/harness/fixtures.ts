import { createApiKey } from "../../local/api_keys.ts";
import type { Query } from "../../local/sql_db.ts";

export interface Tenant {
  orgId: string;
  companyIds: string[];
  contactIds: string[];
  /** Plaintext keys, by what they are for. */
  keys: {
    write: string;
    readOnly: string;
    revoked: string;
    expired: string;
  };
}

/** A fresh org with its own companies, contacts and keys, so tests never share state. */
export async function createTenant(
  owner: Query,
  opts: { companies?: number; contacts?: number } = {},
): Promise<Tenant> {
  const [{ id: orgId }] = await owner<{ id: string }>(
    "insert into public.orgs (name) values ($1) returning id",
    [`test org ${crypto.randomUUID().slice(0, 8)}`],
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
  const hourAgo = new Date(Date.now() - 3_600_000);
  const keys = {
    write: (await createApiKey(owner, { orgId, permissions: ["contacts:write"] })).plaintext,
    readOnly: (await createApiKey(owner, { orgId, permissions: ["contacts:read"] })).plaintext,
    revoked: (await createApiKey(owner, {
      orgId,
      permissions: ["contacts:write"],
      revokedAt: hourAgo,
    })).plaintext,
    expired: (await createApiKey(owner, {
      orgId,
      permissions: ["contacts:write"],
      expiresAt: hourAgo,
    })).plaintext,
  };
  return { orgId, companyIds, contactIds, keys };
}

/** company_id of each contact, keyed by contact id (null when unlinked). */
export async function companyOf(owner: Query, contactIds: string[]) {
  const rows = await owner<{ id: string; company_id: string | null }>(
    "select id, company_id from public.contacts where id = any($1::uuid[])",
    [contactIds],
  );
  return Object.fromEntries(rows.map((r) => [r.id, r.company_id]));
}

/** A digest of every row of every table in public: equal digests mean nothing was written. */
export async function databaseDigest(owner: Query): Promise<string> {
  const tables = await owner<{ name: string }>(
    `select c.relname as name from pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1`,
    [],
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    const [row] = await owner<{ digest: string | null; n: number }>(
      `select md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest,
              count(*)::int as n
       from public.${name} t`,
      [],
    );
    parts.push(`${name}:${row.n}:${row.digest}`);
  }
  return parts.join(" ");
}
