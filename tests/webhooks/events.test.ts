// The outbox: link and unlink write their event in the transaction that made the change, one per
// request that changed a contact, only for an org with an active endpoint subscribed to its type;
// refused, failed and rolled-back requests, and requests that change nothing, write none.
import assert from "node:assert/strict";
import type { Query } from "../../local/sql_db.ts";
import { buildApp } from "../harness/app.ts";
import { companyOf, createTenant, type Tenant } from "../harness/fixtures.ts";
import { send } from "../harness/http.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";
import { WEBHOOK_EVENT_TYPES } from "../../supabase/functions/api-gateway/webhooks/events.ts";

type Event = {
  id: string;
  type: string;
  body: string;
  deliveries: number;
};

/** The org's events, oldest first, with how many deliveries each has. */
async function eventsOf(owner: Query, orgId: string): Promise<Event[]> {
  return await owner<Event>(
    `select v.id, v.type, v.body,
            (select count(*)::int from public.webhook_deliveries d where d.event_id = v.id)
              as deliveries
     from public.webhook_events v where v.org_id = $1 order by v.seq`,
    [orgId],
  );
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `webhooks: events written with the change [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { app } = buildApp(target.db);
      const post = (org: Tenant, action: "link" | "unlink", company: string, ids: string[]) =>
        send(app, "POST", `/api-gateway/v1/companies/${company}/contacts/${action}`, {
          key: org.keys.only["contacts:write"],
          body: { contact_ids: ids },
        });
      // Fixture events (one per tenant) are not the requests': count from here on.
      const fresh = async (org: Tenant) => (await eventsOf(target.owner, org.orgId)).slice(1);
      try {
        const a = await createTenant(target.owner, { companies: 2, contacts: 6 });
        const b = await createTenant(target.owner, { companies: 1, contacts: 2 });
        const [c1, c2] = a.companyIds;
        const [x1, x2, x3, x4, x5] = a.contactIds;

        await t.step("the gateway's event types are the database's", async () => {
          const [{ types }] = await target.owner<{ types: string[] }>(
            "select internal.webhook_event_types() as types",
            [],
          );
          assert.deepEqual([...types].sort(), [...WEBHOOK_EVENT_TYPES].sort());
        });

        await t.step(
          "a link that changes contacts: one event, one delivery per endpoint",
          async () => {
            const res = await post(a, "link", c1, [x2, x1, x1]);
            assert.equal(res.status, 200, res.text);
            const events = await fresh(a);
            assert.equal(events.length, 1);
            const [event] = events;
            assert.equal(event.type, "company.contacts_linked");
            assert.equal(event.deliveries, 2, "both endpoints are subscribed and active");
            // The body as it is signed and sent, keys in this order.
            assert.deepEqual(Object.keys(JSON.parse(event.body)), ["type", "timestamp", "data"]);
            const body = JSON.parse(event.body);
            assert.equal(body.type, "company.contacts_linked");
            assert.match(body.timestamp, ISO_UTC);
            assert.deepEqual(body.data, {
              company_id: c1,
              contact_ids: [x1, x2].sort(),
              count: 2,
              moved_from: {},
            });
          },
        );

        await t.step("the same link again changes nothing: no event", async () => {
          assert.equal((await post(a, "link", c1, [x1, x2])).status, 200);
          assert.equal((await fresh(a)).length, 1);
        });

        await t.step("contacts moving from another company: moved_from names it", async () => {
          await post(a, "link", c2, [x3]);
          const res = await post(a, "link", c2, [x1, x3, x4, b.contactIds[0]]);
          assert.equal(res.status, 200, res.text);
          const body = JSON.parse((await fresh(a)).at(-1)!.body);
          // x3 was at c2 already: not a change. x1 moved from c1; x4 was at none.
          assert.deepEqual(body.data, {
            company_id: c2,
            contact_ids: [x1, x4].sort(),
            count: 2,
            moved_from: { [x1]: c1 },
          });
        });

        await t.step("an unlink: the contacts it unlinked, no moved_from", async () => {
          const before = (await fresh(a)).length;
          const res = await post(a, "unlink", c2, [x1, x2, x5]);
          assert.equal(res.status, 200, res.text);
          const events = await fresh(a);
          assert.equal(events.length, before + 1);
          const body = JSON.parse(events.at(-1)!.body);
          assert.equal(body.type, "company.contacts_unlinked");
          // x2 is at c1 and x5 at none: left as they are.
          assert.deepEqual(body.data, { company_id: c2, contact_ids: [x1], count: 1 });
          assert.equal((await companyOf(target.owner, [x2]))[x2], c1);
        });

        await t.step("refused requests write no event", async () => {
          const before = (await fresh(a)).length;
          const company = `/api-gateway/v1/companies/${c1}/contacts/link`;
          const cases = [
            await send(app, "POST", company, { key: a.keys.revoked, body: { contact_ids: [x5] } }),
            await send(app, "POST", company, {
              key: a.keys.only["contacts:read"],
              body: { contact_ids: [x5] },
            }),
            await send(app, "POST", company, {
              key: a.keys.only["contacts:write"],
              body: { contact_ids: ["not-a-uuid"] },
            }),
            await post(a, "link", b.companyIds[0], [x5]),
          ];
          assert.deepEqual(cases.map((r) => r.status), [401, 403, 400, 404]);
          const limited = await createTenant(target.owner, { perMinute: 0 });
          assert.equal(
            (await post(limited, "link", limited.companyIds[0], limited.contactIds)).status,
            429,
          );
          assert.equal((await fresh(a)).length, before);
          assert.equal((await fresh(limited)).length, 0);
        });

        await t.step("a request that fails after the change writes neither", async () => {
          await target.owner(
            `create function public.test_refuse_delivery() returns trigger language plpgsql as
             $$ begin raise exception 'refused by the test'; end $$`,
            [],
          );
          await target.owner(
            `create trigger test_refuse_delivery before insert on public.webhook_deliveries
             for each row execute function public.test_refuse_delivery()`,
            [],
          );
          try {
            const before = await fresh(a);
            const res = await post(a, "link", c1, [x5]);
            assert.equal(res.status, 500, res.text);
            assert.equal((await companyOf(target.owner, [x5]))[x5], null, "the link rolled back");
            assert.deepEqual(await fresh(a), before, "and its event with it");
          } finally {
            await target.owner(
              "drop trigger test_refuse_delivery on public.webhook_deliveries",
              [],
            );
            await target.owner("drop function public.test_refuse_delivery()", []);
          }
        });

        await t.step("an org with no endpoint subscribed writes nothing extra", async () => {
          const quiet = await createTenant(target.owner, { companies: 1, contacts: 2 });
          await target.owner(
            "update public.webhook_endpoints set events = '{company.contacts_unlinked}' where org_id = $1",
            [quiet.orgId],
          );
          assert.equal(
            (await post(quiet, "link", quiet.companyIds[0], quiet.contactIds)).status,
            200,
          );
          assert.equal((await fresh(quiet)).length, 0, "subscribed to unlinks only");
          await target.owner("delete from public.webhook_endpoints where org_id = $1", [
            quiet.orgId,
          ]);
          assert.equal(
            (await post(quiet, "unlink", quiet.companyIds[0], quiet.contactIds)).status,
            200,
          );
          assert.deepEqual(await fresh(quiet), [], "no endpoint at all");
        });

        await t.step("turned off or deleted endpoints get no delivery", async () => {
          await target.owner("update public.webhook_endpoints set active = false where id = $1", [
            a.webhookIds[0],
          ]);
          await target.owner(
            "update public.webhook_endpoints set deleted_at = now() where id = $1",
            [
              a.webhookIds[1],
            ],
          );
          assert.equal((await post(a, "link", c1, [x5])).status, 200);
          assert.equal((await fresh(a)).at(-1)!.body.includes(x5), false, "no event at all");
          await target.owner("update public.webhook_endpoints set active = true where id = $1", [
            a.webhookIds[0],
          ]);
          assert.equal((await post(a, "link", c2, [x5])).status, 200);
          const last = (await fresh(a)).at(-1)!;
          assert.ok(last.body.includes(x5));
          assert.equal(last.deliveries, 1, "the active one only");
        });

        await t.step("another org's changes are not this org's events", async () => {
          const before = await fresh(a);
          assert.equal((await post(b, "link", b.companyIds[0], b.contactIds)).status, 200);
          assert.deepEqual(await fresh(a), before);
          assert.equal((await fresh(b)).length, 1);
        });
      } finally {
        await target.close();
      }
    },
  );
}
