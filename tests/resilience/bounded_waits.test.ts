// Every wait is bounded where production runs it (issue 15): the SQL functions bound their own
// lock waits, so a call returns promptly whatever another session holds, and never holds a
// connection. Proven on real Postgres with the functions called as PostgREST calls them (as
// service_role, the function's hoisted settings applied in the transaction), then through the
// gateway: the org's own queue answers 429 with Retry-After: 1, any other lock 503.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { pgClient } from "../../local/postgres.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { buildApp } from "../harness/app.ts";
import { companyOf, createTenant, type Tenant, tokensTaken } from "../harness/fixtures.ts";
import { sendRoute } from "../harness/http.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";

const LINK = ENDPOINTS.find((e) => e.sql.fn === "link_contacts_to_company")!;
// Generous: the functions give up after 0.5 s (the org's slots) and 1 s (any other lock); the
// machine is shared and noisy.
const PROMPTLY_MS = 4_000;

/** What PostgREST 12 sends for POST /rest/v1/rpc/link_contacts_to_company with the service key:
 * one transaction, the role set, the function's own statement_timeout hoisted into it
 * (db-hoisted-tx-settings), then the call. Resolves to the answer or the SQLSTATE, and how long
 * the call took. */
async function rpcAsPostgrest(sql: postgres.Sql, keyHash: string, company: string, ids: string[]) {
  const started = performance.now();
  try {
    const result = await sql.begin(async (tx) => {
      await tx`select set_config('role', 'service_role', true),
                      set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      await tx`
        select set_config(split_part(c, '=', 1), split_part(c, '=', 2), true)
        from pg_proc p, unnest(p.proconfig) c
        where p.oid = 'public.link_contacts_to_company'::regproc
          and split_part(c, '=', 1) in ('statement_timeout', 'plan_filter.statement_cost_limit')`;
      const [row] = await tx`
        select public.link_contacts_to_company(p_key_hash => ${keyHash},
          p_company_id => ${company}, p_contact_ids => ${ids}::uuid[]) as result`;
      return row.result as { outcome: string };
    });
    return { result, ms: performance.now() - started };
  } catch (err) {
    return { code: (err as { code?: string }).code, ms: performance.now() - started };
  }
}

/** Another session holding rows (`FOR UPDATE`) until released. */
async function holdRows(url: string, lock: (tx: postgres.TransactionSql) => Promise<unknown>) {
  const sql = pgClient(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const done = sql.begin(async (tx) => {
    await lock(tx);
    locked();
    await released;
  });
  await isLocked;
  return {
    async release() {
      release();
      await done;
      await sql.end();
    },
  };
}

Deno.test(
  { name: "resilience: every wait is bounded in the functions", ...targetTestOptions("postgres") },
  async (t) => {
    const target = await getTarget("postgres");
    const url = target.url!;
    const { app } = buildApp(target.db);
    // One connection each, as PostgREST's pool hands one to each request.
    const poolA = pgClient(url, { max: 1, onnotice: () => {} });
    const poolB = pgClient(url, { max: 1, onnotice: () => {} });
    const link = (org: Tenant, ids = [org.contactIds[0]]) =>
      sendRoute(app, LINK, { params: { id: org.companyIds[0] }, body: { contact_ids: ids } }, {
        key: org.keys.write,
      });
    try {
      const a = await createTenant(target.owner);
      const b = await createTenant(target.owner);
      const hashA = await hashApiKey(a.keys.write);
      const hashB = await hashApiKey(b.keys.write);
      // The org's slots for the day exist once it has made a request.
      assert.equal((await link(a, [a.contactIds[1]])).status, 200);
      const holdSlots = () =>
        holdRows(
          url,
          (tx) => tx`select 1 from public.api_usage where org_id = ${a.orgId} for update`,
        );

      await t.step(
        "an org's own queue: busy within a bound, another org served meanwhile",
        async () => {
          const tokens = await tokensTaken(target.owner, a.orgId);
          const held = await holdSlots();
          try {
            const callA = rpcAsPostgrest(poolA, hashA, a.companyIds[0], [a.contactIds[0]]);
            const callB = await rpcAsPostgrest(poolB, hashB, b.companyIds[0], [b.contactIds[0]]);
            assert.equal(
              callB.result?.outcome,
              "ok",
              "another org is served while A's slots are held",
            );
            const answer = await callA;
            assert.equal(answer.result?.outcome, "busy", JSON.stringify(answer));
            assert.ok(answer.ms < PROMPTLY_MS, `returned after ${answer.ms} ms`);
            // The connection is free at once: the same session answers the next statement.
            assert.deepEqual([...await poolA`select 1 as one`], [{ one: 1 }]);
            assert.equal(await tokensTaken(target.owner, a.orgId), tokens, "nothing taken");
            assert.deepEqual(await companyOf(target.owner, [a.contactIds[0]]), {
              [a.contactIds[0]]: null,
            }, "nothing done");
          } finally {
            await held.release();
          }
          const after = await rpcAsPostgrest(poolA, hashA, a.companyIds[0], [a.contactIds[0]]);
          assert.equal(after.result?.outcome, "ok", "served once the slots are free");
        },
      );

      await t.step("a lock elsewhere (a contact): lock_not_available within a bound", async () => {
        const tokens = await tokensTaken(target.owner, a.orgId);
        const contact = a.contactIds[2];
        const held = await holdRows(
          url,
          (tx) => tx`select 1 from public.contacts where id = ${contact} for update`,
        );
        try {
          const answer = await rpcAsPostgrest(poolA, hashA, a.companyIds[0], [contact]);
          assert.equal(answer.code, "55P03", JSON.stringify(answer));
          assert.ok(answer.ms < PROMPTLY_MS, `returned after ${answer.ms} ms`);
          assert.equal(await tokensTaken(target.owner, a.orgId), tokens, "rolled back: no token");
        } finally {
          await held.release();
        }
      });

      await t.step(
        "through the gateway: 429 Retry-After 1 for the org's queue, else 503",
        async () => {
          const held = await holdSlots();
          try {
            const busy = await link(a);
            assert.equal(busy.status, 429, busy.text);
            assert.equal(busy.json.error.code, "rate_limited");
            assert.match(busy.json.error.message, /in flight/);
            assert.equal(busy.headers.get("retry-after"), "1");
            assert.ok(busy.headers.get("ratelimit-policy"), "the org's limits are in the headers");
            assert.equal((await link(b)).status, 200, "another org is served meanwhile");
          } finally {
            await held.release();
          }
          const contact = a.contactIds[3];
          const heldContact = await holdRows(
            url,
            (tx) => tx`select 1 from public.contacts where id = ${contact} for update`,
          );
          try {
            const unavailable = await link(a, [contact]);
            assert.equal(unavailable.status, 503, unavailable.text);
            assert.equal(unavailable.json.error.code, "service_unavailable");
          } finally {
            await heldContact.release();
          }
          assert.equal((await link(a, [contact])).status, 200, "served once the lock is gone");
        },
      );
    } finally {
      await Promise.all([poolA.end(), poolB.end()]);
      await target.close();
    }
  },
);
