// The claim shares the dispatcher between orgs, and bounds what the outbox can hold, against each
// real database: round robin by org (one org's 20 busy endpoints never take another org's share),
// at most 5 in flight per endpoint; on Postgres, a claim skips a delivery another session holds
// and answers at once. The pg_cron idle check counts only active endpoints' deliveries, and an
// endpoint the dispatcher turns off has its pending deliveries cancelled.
import assert from "node:assert/strict";
import { pgClient } from "../../local/postgres.ts";
import type { Query } from "../../local/sql_db.ts";
import { newWebhookSecret } from "../../supabase/functions/api-gateway/webhooks/secret.ts";
import { createTenant } from "../harness/fixtures.ts";
import { testKeyring } from "../harness/secrets.ts";
import { cancelPendingDeliveries } from "../harness/webhooks.ts";
import { testDispatcher } from "../harness/dispatching.ts";
import { startReceiver } from "../harness/receiver.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

interface ClaimedRow {
  delivery_id: string;
}

/** An org (the fixture's endpoints off) with `endpoints` active endpoints, each with `each` due
 * deliveries, due `agoSeconds` ago. */
async function busyOrg(
  owner: Query,
  endpoints: number,
  each: number,
  agoSeconds: number,
  url = (i: number) => `https://hooks.example.com/busy/${i}`,
) {
  const org = await createTenant(owner);
  await owner("update public.webhook_endpoints set active = false where org_id = $1", [org.orgId]);
  const ids = (await owner<{ id: string }>(
    `insert into public.webhook_endpoints (org_id, url, events, secret)
     select $1, u, '{company.contacts_linked}', $3 from unnest($2::text[]) u returning id`,
    [
      org.orgId,
      Array.from({ length: endpoints }, (_, i) => url(i)),
      await testKeyring.encrypt(newWebhookSecret()),
    ],
  )).map((r) => r.id);
  await owner(
    `with ev as (
       insert into public.webhook_events (org_id, type, body)
       select $1, 'company.contacts_linked', '{}' from generate_series(1, $3::int * $4::int)
       returning id),
     numbered as (select id, row_number() over () - 1 as n from ev)
     insert into public.webhook_deliveries (org_id, event_id, endpoint_id, next_attempt_at)
     select $1, id, ($2::uuid[])[1 + n % $3::int], now() - make_interval(secs => $5::int)
     from numbered`,
    [org.orgId, ids, endpoints, each, agoSeconds],
  );
  return { org, ids };
}

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `webhooks: fair claims, bounded outbox [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { db, owner } = target;
      const quiet = () => cancelPendingDeliveries(owner);
      const orgOf = async (ids: string[]) => (await owner<{ org_id: string; endpoint_id: string }>(
        "select org_id, endpoint_id from public.webhook_deliveries where id = any ($1::uuid[])",
        [ids],
      ));
      const claim = async (limit: number) =>
        (await db.call<ClaimedRow[]>("claim_webhook_deliveries", { p_limit: limit }))
          .map((c) => c.delivery_id);
      try {
        await t.step(
          "round robin by org: 20 busy endpoints never take another org's share",
          async () => {
            await quiet();
            // A's backlog is older than B's: by age alone, a claim of 10 would be all A's.
            const a = await busyOrg(owner, 20, 6, 3600);
            const b = await busyOrg(owner, 1, 5, 60);
            const first = await orgOf(await claim(10));
            assert.equal(first.length, 10);
            assert.equal(first.filter((r) => r.org_id === b.org.orgId).length, 5, "half is B's");
            assert.equal(
              new Set(first.filter((r) => r.org_id === a.org.orgId).map((r) => r.endpoint_id)).size,
              5,
            );
            // The rest: each endpoint at most 5 in flight, A's sixth of each waits.
            const rest = await orgOf(await claim(500));
            const perEndpoint = Map.groupBy([...first, ...rest], (r) => r.endpoint_id);
            assert.equal(perEndpoint.size, 21);
            assert.ok([...perEndpoint.values()].every((rows) => rows.length === 5));
            assert.deepEqual(await claim(500), [], "nothing more until a slot frees");
          },
        );

        await t.step("the idle check counts only active endpoints' deliveries", async () => {
          await quiet();
          const idle = async () =>
            (await owner<{ r: string }>("select internal.request_webhook_dispatch() as r", []))[0]
              .r;
          assert.equal(await idle(), "idle");
          const off = await busyOrg(owner, 1, 3, 60);
          // Turned off behind the API's back (as before this version, when its deliveries
          // stayed pending): they are never claimed, and must not wake the dispatcher.
          await owner("update public.webhook_endpoints set active = false where id = $1", [
            off.ids[0],
          ]);
          assert.equal(await idle(), "idle");
          await owner("update public.webhook_endpoints set active = true where id = $1", [
            off.ids[0],
          ]);
          // Due for an active endpoint: the dispatcher would be asked (no pg_net here to ask).
          assert.notEqual(await idle(), "idle");
        });

        await t.step(
          "an endpoint turned off by its receiver (410) has its pending deliveries cancelled",
          async () => {
            await quiet();
            const receiver = startReceiver(() => [], () => ({ status: 410 }));
            try {
              const gone = await busyOrg(owner, 1, 4, 60, () => receiver.url);
              const dispatcher = testDispatcher(db);
              assert.equal((await dispatcher.round({ limit: 1 })).claimed, 1);
              const statuses = await owner<{ status: string; n: number }>(
                `select status, count(*)::int as n from public.webhook_deliveries
                 where endpoint_id = $1 group by status order by status`,
                [gone.ids[0]],
              );
              assert.deepEqual(statuses.map((s) => [s.status, s.n]), [["cancelled", 3], [
                "failed",
                1,
              ]]);
              const [{ r }] = await owner<{ r: string }>(
                "select internal.request_webhook_dispatch() as r",
                [],
              );
              assert.equal(r, "idle");
              dispatcher.assertLoopbackOnly();
            } finally {
              await receiver.close();
            }
          },
        );

        await t.step({
          name: "a claim skips a delivery another session holds, and answers at once",
          ignore: kind !== "postgres",
          fn: async () => {
            await quiet();
            const { ids } = await busyOrg(owner, 1, 3, 60);
            const [held, ...others] = (await owner<{ id: string }>(
              "select id from public.webhook_deliveries where endpoint_id = $1 order by id",
              [ids[0]],
            )).map((r) => r.id);
            const holder = pgClient(target.url!, { max: 1, onnotice: () => {} });
            const claimer = pgClient(target.url!, { max: 1, onnotice: () => {} });
            try {
              await holder.begin(async (tx) => {
                await tx`select id from public.webhook_deliveries where id = ${held} for update`;
                // Without SKIP LOCKED this waits for the row, until the function's lock_timeout
                // (1 s) ends it with an error.
                const [{ c }] = await claimer`select public.claim_webhook_deliveries(10, 60) as c`;
                const claimed = (c as ClaimedRow[]).map((r) => r.delivery_id).sort();
                assert.deepEqual(claimed, others.sort(), "the others, not the one held");
              });
              // Once let go, it is claimed.
              const [{ c }] = await claimer`select public.claim_webhook_deliveries(10, 60) as c`;
              assert.deepEqual((c as ClaimedRow[]).map((r) => r.delivery_id), [held]);
            } finally {
              await holder.end();
              await claimer.end();
            }
          },
        });
      } finally {
        await target.close();
      }
    },
  );
}
