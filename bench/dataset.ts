/** The bench's data: orgs × contacts with a few companies each, one key per org, and pre-drawn
 * random batches. Every id is derived from the org and row numbers (md5 as a uuid), so a pgbench
 * script can name any contact from two random integers; every key's plaintext is derived from its
 * org's number, so nothing secret needs to be kept. Orgs get a rate-limit override far above what
 * a run can use: the bench measures the work, not the limiter's refusals. */
import type postgres from "postgres";
import { createHash } from "node:crypto";
import { keyChecksum } from "../supabase/functions/api-gateway/kit/key.ts";

export interface DataShape {
  orgs: number;
  contactsPerOrg: number;
  companiesPerOrg: number;
  batchSizes: number[];
  batchesPerSize: number;
}

/** The same expressions the SQL below uses, for scripts that compute ids themselves. */
export const ORG_ID = (n: string) => `md5('bench-org-' || ${n})::uuid`;
export const COMPANY_ID = (n: string, j: string) =>
  `md5('bench-company-' || ${n} || '-' || ${j})::uuid`;
export const CONTACT_ID = (n: string, i: string) =>
  `md5('bench-contact-' || ${n} || '-' || ${i})::uuid`;
/** Org n's key: 46 characters derived from n, and their checksum (a key the gateway accepts). */
export function benchKey(n: number): string {
  const digest = createHash("sha256").update(`bench-key-${n}`).digest("hex");
  const first50 = `wbk_${digest.slice(0, 46)}`;
  return first50 + keyChecksum(first50);
}

const UNTHROTTLED = 2_000_000_000;

/** Loads the data as the superuser (foreign-key triggers skipped: the rows are right by
 * construction), then vacuums and analyzes. */
export async function loadDataset(sql: postgres.Sql, shape: DataShape): Promise<void> {
  const { orgs, contactsPerOrg: contacts, companiesPerOrg: companies } = shape;
  await sql.begin(async (tx) => {
    await tx.unsafe("set local session_replication_role = replica");
    // The keys, computed here (their checksum is not SQL's to compute), kept for the batches.
    await tx.unsafe(`
      create schema bench;
      create table bench.keys (n int primary key, key text not null);
      grant usage on schema bench to service_role`);
    const numbers = Array.from({ length: orgs }, (_, i) => i + 1);
    await tx.unsafe(
      "insert into bench.keys select * from unnest($1::int[], $2::text[])",
      [numbers, numbers.map(benchKey)],
    );
    await tx.unsafe(`
      insert into public.orgs (id, name, plan, rate_limit_per_day, rate_limit_per_minute)
      select ${ORG_ID("n")}, 'bench org ' || n, 'org', ${UNTHROTTLED}, ${UNTHROTTLED}
      from generate_series(1, ${orgs}) n`);
    await tx.unsafe(`
      insert into public.api_keys (org_id, name, key_hash, prefix, permissions)
      select ${ORG_ID("k.n")}, 'bench', encode(sha256(convert_to(k.key, 'UTF8')), 'hex'),
             left(k.key, 12), '{contacts:write}'
      from bench.keys k`);
    await tx.unsafe(`
      insert into public.companies (id, org_id, name)
      select ${COMPANY_ID("n", "j")}, ${ORG_ID("n")}, 'company ' || n || '-' || j
      from generate_series(1, ${orgs}) n, generate_series(1, ${companies}) j`);
    // In random order, as contacts of many orgs arrive over time: an org's rows are spread over
    // the whole table, not packed in a few pages.
    await tx.unsafe(`
      insert into public.contacts (id, org_id, full_name, email)
      select ${CONTACT_ID("n", "i")}, ${ORG_ID("n")}, 'contact ' || i,
             'c' || i || '@org' || n || '.example'
      from generate_series(1, ${orgs}) n, generate_series(1, ${contacts}) i
      order by random()`);

    // The batches pgbench and wrk pick from: a random org, one of its companies, `size` distinct
    // random contacts of it in random order. The plaintext key is kept for wrk's requests.
    await tx.unsafe(drawBatches("bench.batches", shape));
  });
  await sql.unsafe("vacuum (analyze)");
  await sql.unsafe("checkpoint");
}

/** SQL creating `table` and drawing batches into it (every size, `batchesPerSize` each): `org`
 * when given, else a random org per batch; one of its companies; `size` distinct random contacts
 * of it, in random order. Its key, plaintext and hash, rides along. */
export function drawBatches(table: string, shape: DataShape, org?: number): string {
  return `
    create table ${table} (
      size int, n int, key text, key_hash text, org_id uuid, company_id uuid, contact_ids uuid[],
      primary key (size, n));
    grant usage on schema bench to service_role;
    grant select on ${table} to service_role;
    with drawn as materialized (
      select s.size, b.n, ${org ?? `1 + floor(random() * ${shape.orgs})::int`} as org,
             1 + floor(random() * ${shape.companiesPerOrg})::int as company
      from unnest('{${shape.batchSizes.join(",")}}'::int[]) s (size),
           generate_series(1, ${shape.batchesPerSize}) b (n)
    )
    insert into ${table}
    select d.size, d.n, k.key, encode(sha256(convert_to(k.key, 'UTF8')), 'hex'),
           ${ORG_ID("d.org")}, ${COMPANY_ID("d.org", "d.company")},
           (select array_agg(${CONTACT_ID("d.org", "t.i")})
            from (select i from generate_series(1, ${shape.contactsPerOrg}) i
                  order by random() limit d.size) t)
    from drawn d join bench.keys k on k.n = d.org`;
}

export interface BatchRow {
  key: string;
  company_id: string;
  contact_ids: string[];
}

/** The first `limit` batches of a size, for the HTTP load's request list. */
export async function batches(sql: postgres.Sql, size: number, limit: number): Promise<BatchRow[]> {
  return await sql<BatchRow[]>`
    select key, company_id::text, contact_ids::text[] as contact_ids
    from bench.batches where size = ${size} and n <= ${limit} order by n`;
}

/** Between runs: the dead rows of the last run vacuumed away, the tables it grew analyzed, and
 * dirty pages written, so each run starts from the same kind of state (autovacuum is off during
 * the bench). */
export async function betweenRuns(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(
    "vacuum (analyze) public.contacts, public.api_usage, public.api_keys, public.idempotency_records",
  );
  await sql.unsafe("checkpoint");
}

/** Idempotency-Key records as a table in service holds them (a day of writes: other keys, sealed
 * answers of a link's size), analyzed. On the empty table the loading's analyze leaves, every
 * session plans the record's lookup by primary key as a sequential scan and keeps that plan while
 * the table grows under it (autovacuum, off here, would analyze it and have it planned again):
 * that took the pair from 0.88 to 0.81 in the first full run with six rounds. */
export async function seedIdempotencyRecords(sql: postgres.Sql, records: number): Promise<void> {
  await sql.unsafe(`
    insert into public.idempotency_records
      (org_id, key_hash, fingerprint, method, path, answer, created_at, expires_at)
    select o.id, extensions.gen_random_bytes(32), extensions.gen_random_bytes(32), 'post',
           '/v1/companies/{id}/contacts/link', extensions.gen_random_bytes(160),
           now() - (i % 86400) * interval '1 second',
           now() - (i % 86400) * interval '1 second' + interval '24 hours'
    from generate_series(1, ${records}) i
    join (select id, row_number() over (order by id) - 1 as n, count(*) over () as orgs
          from public.orgs) o on o.n = i % o.orgs`);
  await sql.unsafe("vacuum (analyze) public.idempotency_records");
}
