// Delivery under concurrency, against each real database: dispatchers side by side never send one
// attempt twice; a dispatcher that dies mid-delivery loses nothing (its lease runs out and the
// delivery goes again, same webhook-id); 1,000 concurrent link and unlink requests over
// overlapping contacts give exactly one event per transaction that changed a contact, with the
// contacts that transaction changed, every one delivered.
import assert from "node:assert/strict";
import type { Query } from "../../local/sql_db.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, postgresJsQuery } from "../../local/sql_db.ts";
import { buildApp } from "../harness/app.ts";
import { deliveriesOf, subscribedOrg, testDispatcher } from "../harness/dispatching.ts";
import { send } from "../harness/http.ts";
import { explained } from "../harness/server_output.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";
import { until } from "../harness/until.ts";

/** The 1,000; 200 in the quick loop (`deno task test:quick`). */
const REQUESTS = Deno.env.get("GATEWAY_TEST_QUICK") ? 200 : 1_000;

/** The oracle of the 1,000 requests: what each transaction changed, from triggers beside the
 * gateway's own writes (test-only objects in this test's own database). */
const AUDIT = [
  `create table public.test_contact_changes (
     xid text, contact_id uuid, old_company uuid, new_company uuid)`,
  `create table public.test_event_xids (xid text, event_id uuid)`,
  `create function public.test_audit_contact() returns trigger
   language plpgsql set search_path = '' as $f$
   begin
     if old.company_id is distinct from new.company_id then
       insert into public.test_contact_changes
       values (pg_catalog.pg_current_xact_id()::text, new.id, old.company_id, new.company_id);
     end if;
     return new;
   end $f$`,
  `create function public.test_audit_event() returns trigger
   language plpgsql set search_path = '' as $f$
   begin
     insert into public.test_event_xids values (pg_catalog.pg_current_xact_id()::text, new.id);
     return new;
   end $f$`,
  `create trigger test_audit after update on public.contacts
     for each row execute function public.test_audit_contact()`,
  `create trigger test_audit after insert on public.webhook_events
     for each row execute function public.test_audit_event()`,
  `grant insert on public.test_contact_changes, public.test_event_xids to service_role`,
  `grant execute on function public.test_audit_contact(), public.test_audit_event()
     to service_role`,
];

/** Every attempt the org's deliveries had: [delivery id, attempt] pairs. */
async function attemptPairs(owner: Query, orgId: string) {
  return (await owner<{ delivery_id: string; attempt: number }>(
    "select delivery_id, attempt from public.webhook_attempts where org_id = $1",
    [orgId],
  )).map((a) => `${a.delivery_id}#${a.attempt}`);
}

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `webhooks: delivery under concurrency [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { db, owner } = target;
      try {
        await t.step("three dispatchers at once send no attempt twice", async () => {
          const orgs = await Promise.all([0, 1, 2].map(() => subscribedOrg(db, owner)));
          // Separate connections on Postgres, so the claims really race.
          const pools = kind === "postgres"
            ? [0, 1, 2].map(() => connectPostgres(target.url!, { max: 4 }))
            : [];
          try {
            for (const org of orgs) {
              for (let i = 0; i < 12; i++) await org.link(i % 3, [i % 8]);
            }
            const dispatchers = [0, 1, 2].map((i) =>
              testDispatcher(pools[i] ? createSqlDb(postgresJsQuery(pools[i])) : db)
            );
            const drain = async (d: (typeof dispatchers)[number]) => {
              while ((await d.round({ limit: 7 })).claimed > 0) { /* until nothing is due */ }
            };
            await Promise.all(dispatchers.map(drain));
            await Promise.all(dispatchers.map(drain));
            for (const org of orgs) {
              const deliveries = await deliveriesOf(owner, org.org.orgId);
              assert.equal(deliveries.length, 12);
              assert.ok(deliveries.every((d) => d.status === "succeeded" && d.attempts === 1));
              const attempts = await attemptPairs(owner, org.org.orgId);
              assert.equal(attempts.length, 12, "one attempt per delivery");
              const ids = org.receiver.received.map((r) => r.id);
              assert.equal(ids.length, 12, "each event received once");
              assert.deepEqual(
                [...new Set(ids)].sort(),
                deliveries.map((d) => d.event_id).sort(),
              );
              assert.ok(org.receiver.received.every((r) => r.verifiedBy.length === 1));
            }
            for (const d of dispatchers) d.assertLoopbackOnly();
          } finally {
            await Promise.all(orgs.map((o) => o.close()));
            await Promise.all(pools.map((p) => p.end()));
          }
        });

        await t.step(
          "a dispatcher that stops mid-delivery: its lease runs out and nothing is lost",
          async () => {
            const s = await subscribedOrg(db, owner, (n) => n <= 3 ? "hang" : { status: 200 });
            try {
              await s.link(0, [0]);
              await s.link(1, [1]);
              await s.link(2, [2]);
              // Returns when the lost dispatcher's 30 s lease began.
              const abandon = async (): Promise<number> => {
                if (kind !== "postgres") {
                  // In one process: a round whose deliveries never come back, and never record.
                  const gone = testDispatcher(db, { timeoutMs: 600_000, leaseSeconds: 30 });
                  gone.round().catch(() => {});
                  await until(() => s.receiver.received.length === 3, "3 deliveries in flight");
                  return gone.clock.now().getTime();
                }
                const leasedFrom = Date.now();
                // On Postgres, a dispatcher process killed (SIGKILL) while its receiver hangs.
                const child = new Deno.Command(Deno.execPath(), {
                  args: [
                    "run",
                    "-A",
                    new URL("../harness/dispatcher_process.ts", import.meta.url).pathname,
                    target.url!,
                  ],
                  stdout: "piped",
                  stderr: "piped",
                }).spawn();
                const output = child.output();
                const said = { output: () => "" };
                await explained([said], async () => {
                  try {
                    await until(() => s.receiver.received.length === 3, "3 deliveries in flight");
                  } catch (err) {
                    child.kill("SIGKILL");
                    const out = await output;
                    said.output = () =>
                      new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
                    throw err;
                  }
                });
                child.kill("SIGKILL");
                const status = await output;
                assert.equal(status.signal, "SIGKILL", "the dispatcher died mid-delivery");
                return leasedFrom;
              };
              const leasedFrom = await abandon();
              const first = s.receiver.received.map((r) => r.id).sort();

              const after = testDispatcher(db);
              after.clock.set(new Date(leasedFrom + 5_000));
              assert.equal((await after.round()).claimed, 0, "leased: not claimed again yet");
              // Past the lease, which began within a minute of leasedFrom.
              after.clock.set(new Date(leasedFrom + 31_000 + 60_000));
              const round = await after.round();
              assert.deepEqual(round, { claimed: 3, succeeded: 3, failed: 0 });
              const again = s.receiver.received.slice(3).map((r) => r.id).sort();
              assert.deepEqual(again, first, "the same webhook-ids, delivered again");
              assert.ok(s.receiver.received.slice(3).every((r) => r.verifiedBy.length === 1));
              const deliveries = await deliveriesOf(owner, s.org.orgId);
              assert.deepEqual(
                deliveries.map((d) => [d.status, d.attempts]),
                [["succeeded", 2], ["succeeded", 2], ["succeeded", 2]],
              );
              after.assertLoopbackOnly();
            } finally {
              await s.close();
            }
          },
        );

        await t.step(
          `${REQUESTS} concurrent links and unlinks: one event per change, all delivered`,
          async () => {
            const s = await subscribedOrg(db, owner, undefined, { companies: 3, contacts: 40 });
            try {
              for (const statement of AUDIT) await owner(statement, []);
              const { app } = buildApp(db);
              const key = s.org.keys.only["contacts:write"];
              // mulberry32: the same requests every run.
              let seed = 42;
              const random = (n: number) => {
                seed = (seed + 0x6d2b79f5) | 0;
                let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
                x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
                return ((x ^ (x >>> 14)) >>> 0) % n;
              };
              const requests = Array.from({ length: REQUESTS }, () => {
                const action = random(5) === 0 ? "unlink" : "link";
                const company = s.org.companyIds[random(3)];
                const ids = Array.from(
                  { length: 1 + random(5) },
                  () => s.org.contactIds[random(40)],
                );
                return { action, company, ids };
              });
              const answers = await Promise.all(
                requests.map((r) =>
                  send(app, "POST", `/api-gateway/v1/companies/${r.company}/contacts/${r.action}`, {
                    key,
                    body: { contact_ids: r.ids },
                  })
                ),
              );
              const statuses = new Set(answers.map((a) => a.status));
              assert.ok(
                [...statuses].every((st) => st === 200 || st === 429),
                `only 200 and the org queue's 429: ${[...statuses]}`,
              );
              assert.ok(answers.filter((a) => a.status === 200).length > REQUESTS / 2);

              const changes = await owner<{
                xid: string;
                contact_id: string;
                old_company: string | null;
                new_company: string | null;
              }>("select * from public.test_contact_changes", []);
              const byXid = Map.groupBy(changes, (c) => c.xid);
              const eventXids = await owner<{ xid: string; event_id: string }>(
                "select * from public.test_event_xids",
                [],
              );
              const events = await owner<{ id: string; body: string; seq: string }>(
                "select id, body, seq from public.webhook_events where org_id = $1 order by seq",
                [s.org.orgId],
              );
              // The fixture's one event is no request's.
              const requestEvents = events.filter((e) => JSON.parse(e.body).data);
              assert.equal(eventXids.length, requestEvents.length);
              assert.equal(
                requestEvents.length,
                byXid.size,
                "exactly one event per transaction that changed a contact",
              );
              const eventOf = new Map(eventXids.map((e) => [e.event_id, e.xid]));
              for (const event of requestEvents) {
                const body = JSON.parse(event.body);
                const xid = eventOf.get(event.id)!;
                const changed = byXid.get(xid);
                assert.ok(changed, "the event's transaction changed contacts");
                assert.deepEqual(body.data.contact_ids, changed.map((c) => c.contact_id).sort());
                assert.equal(body.data.count, changed.length);
                if (body.type === "company.contacts_linked") {
                  assert.ok(changed.every((c) => c.new_company === body.data.company_id));
                  assert.deepEqual(
                    body.data.moved_from,
                    Object.fromEntries(
                      changed.filter((c) => c.old_company !== null)
                        .sort((a, b) => a.contact_id < b.contact_id ? -1 : 1)
                        .map((c) => [c.contact_id, c.old_company]),
                    ),
                  );
                } else {
                  assert.equal(body.type, "company.contacts_unlinked");
                  assert.ok(changed.every((c) => c.old_company === body.data.company_id));
                  assert.ok(changed.every((c) => c.new_company === null));
                }
              }
              // Replayed in order, the events give every contact's company now.
              const replayed = new Map<string, string | null>();
              for (const event of requestEvents) {
                const { type, data } = JSON.parse(event.body);
                for (const id of data.contact_ids) {
                  replayed.set(id, type === "company.contacts_linked" ? data.company_id : null);
                }
              }
              const now = await owner<{ id: string; company_id: string | null }>(
                "select id, company_id from public.contacts where org_id = $1",
                [s.org.orgId],
              );
              for (const contact of now) {
                if (replayed.has(contact.id)) {
                  assert.equal(replayed.get(contact.id), contact.company_id, contact.id);
                }
              }
              assert.ok(replayed.size > 20, "most contacts moved");

              const dispatcher = testDispatcher(db);
              while ((await dispatcher.round({ limit: 100 })).claimed > 0) { /* drain */ }
              const received = new Set(s.receiver.received.map((r) => r.id));
              assert.deepEqual(
                [...received].sort(),
                requestEvents.map((e) => e.id).sort(),
                "every event delivered",
              );
              assert.ok(s.receiver.received.every((r) => r.verifiedBy.length === 1));
              dispatcher.assertLoopbackOnly();
            } finally {
              await s.close();
            }
          },
        );
      } finally {
        await target.close();
      }
    },
  );
}
