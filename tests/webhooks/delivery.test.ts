// Delivery, against each real database: every delivery verified by the `standardwebhooks`
// package at a loopback receiver; retries on the Standard Webhooks schedule with the same
// webhook-id; Retry-After, 410, redirects, timeouts, rotation, the 5-day disable, retention; one
// org's dead endpoint beside another's; addresses refused before any connection. Time is the
// dispatcher's clock, moved by the test: nothing here waits for a retry.
import assert from "node:assert/strict";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { attemptsOf, deliveriesOf, subscribedOrg, testDispatcher } from "../harness/dispatching.ts";
import { send } from "../harness/http.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";
import { USER_AGENT } from "../../supabase/functions/api-gateway/webhooks/dispatch.ts";
import type { Resolver } from "../../supabase/functions/api-gateway/webhooks/url_policy.ts";
import { PUBLIC_TEST_ADDRESS } from "../harness/resolver.ts";
import { storedSecret, testKeyring } from "../harness/secrets.ts";
import { until } from "../harness/until.ts";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The Standard Webhooks example schedule: the wait after attempt n (1-based) is SCHEDULE[n-1]. */
const SCHEDULE = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `webhooks: delivery [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { db, owner } = target;
      const dispatcher = testDispatcher(db);
      const { clock } = dispatcher;
      // Timestamps come back in milliseconds, the database keeps microseconds: a step past.
      const reach = (row: { next_attempt_at: Date }) =>
        clock.set(new Date(row.next_attempt_at.getTime() + 1));
      try {
        await t.step("a link is delivered once, signed, and verifies", async () => {
          const s = await subscribedOrg(db, owner);
          try {
            await s.link(0, [1, 0]);
            const round = await dispatcher.round();
            assert.deepEqual(round, { claimed: 1, succeeded: 1, failed: 0 });
            assert.equal(s.receiver.received.length, 1);
            const [got] = s.receiver.received;
            assert.deepEqual(got.verifiedBy, s.secrets, "standardwebhooks verifies the signature");
            const [event] = await owner<{ id: string; body: string }>(
              "select id, body from public.webhook_events where org_id = $1 order by seq desc limit 1",
              [s.org.orgId],
            );
            assert.equal(got.id, event.id, "webhook-id is the event id");
            assert.equal(got.body, event.body, "the stored body, byte for byte");
            assert.equal(got.userAgent, USER_AGENT);
            assert.match(got.userAgent ?? "", /api-gateway/);
            assert.ok(Math.abs(got.timestamp - Date.now() / 1000) < 300, "a current timestamp");
            const body = JSON.parse(got.body);
            assert.equal(body.type, "company.contacts_linked");
            assert.deepEqual(body.data.contact_ids, [s.org.contactIds[0], s.org.contactIds[1]]);

            assert.deepEqual(await dispatcher.round(), { claimed: 0, succeeded: 0, failed: 0 });
            const { app } = buildApp(db);
            const list = await send(app, "GET", "/api-gateway/v1/webhooks", {
              key: s.org.keys.only["webhooks:read"],
            });
            const mine = list.json.data.find((w: { id: string }) => w.id === s.webhookId);
            assert.equal(mine.last_delivery_status, "success");
            const deliveries = await send(
              app,
              "GET",
              `/api-gateway/v1/webhooks/${s.webhookId}/deliveries`,
              { key: s.org.keys.only["webhooks:read"] },
            );
            assert.equal(deliveries.status, 200, deliveries.text);
            const [delivery] = deliveries.json.data;
            assert.equal(delivery.status, "succeeded");
            assert.equal(delivery.event_id, event.id);
            assert.equal(delivery.attempts.length, 1);
            assert.equal(delivery.attempts[0].status_code, 200);
            assert.equal(delivery.attempts[0].error_class, null);
            assert.equal(typeof delivery.attempts[0].duration_ms, "number");
          } finally {
            await s.close();
          }
        });

        await t.step("an unlink is delivered as company.contacts_unlinked", async () => {
          const s = await subscribedOrg(db, owner);
          try {
            await s.link(1, [2, 3]);
            await s.unlink(1, [3]);
            const round = await dispatcher.round();
            assert.equal(round.succeeded, 2);
            const types = s.receiver.received.map((r) => JSON.parse(r.body));
            const unlinked = types.find((b) => b.type === "company.contacts_unlinked");
            assert.deepEqual(unlinked.data, {
              company_id: s.org.companyIds[1],
              contact_ids: [s.org.contactIds[3]],
              count: 1,
            });
            assert.ok(s.receiver.received.every((r) => r.verifiedBy.length === 1));
          } finally {
            await s.close();
          }
        });

        await t.step("a 500 is retried about 5 s later with the same webhook-id", async () => {
          const s = await subscribedOrg(db, owner, (n) => ({ status: n === 1 ? 500 : 200 }));
          try {
            await s.link(0, [4]);
            assert.deepEqual(await dispatcher.round(), { claimed: 1, succeeded: 0, failed: 1 });
            const [pending] = await deliveriesOf(owner, s.org.orgId);
            assert.equal(pending.status, "pending");
            const wait = pending.next_attempt_at.getTime() - clock.now().getTime();
            assert.ok(wait >= 4_500 && wait <= 5_500, `first retry after 5 s ±10%, not ${wait} ms`);

            clock.advance(4_400);
            assert.equal((await dispatcher.round()).claimed, 0, "not before its time");
            reach(pending);
            assert.deepEqual(await dispatcher.round(), { claimed: 1, succeeded: 1, failed: 0 });
            const [first, second] = s.receiver.received;
            assert.equal(second.id, first.id, "the same webhook-id on every attempt");
            assert.equal(second.body, first.body);
            assert.deepEqual(second.verifiedBy, s.secrets);
            const attempts = await attemptsOf(owner, pending.id);
            assert.deepEqual(attempts.map((a) => [a.attempt, a.status_code, a.error_class]), [
              [1, 500, "http_status"],
              [2, 200, null],
            ]);
          } finally {
            await s.close();
          }
        });

        await t.step("the schedule: 8 attempts, then the delivery has failed", async () => {
          const s = await subscribedOrg(db, owner, () => ({ status: 500, body: "x".repeat(5000) }));
          try {
            await s.link(0, [5]);
            for (let attempt = 1; attempt <= 8; attempt++) {
              const round = await dispatcher.round();
              assert.deepEqual(
                round,
                { claimed: 1, succeeded: 0, failed: 1 },
                `attempt ${attempt}`,
              );
              const [row] = await deliveriesOf(owner, s.org.orgId);
              assert.equal(row.attempts, attempt);
              if (attempt === 8) {
                assert.equal(row.status, "failed", "after the 8th attempt");
                break;
              }
              assert.equal(row.status, "pending");
              const wait = row.next_attempt_at.getTime() - clock.now().getTime();
              const expected = SCHEDULE[attempt - 1];
              assert.ok(
                wait >= expected * 0.9 - 1 && wait <= expected * 1.1 + 1,
                `wait after attempt ${attempt}: ${wait} ms, expected ${expected} ms ±10%`,
              );
              reach(row);
            }
            clock.advance(DAY);
            assert.equal((await dispatcher.round()).claimed, 0, "a failed delivery is not retried");
            assert.equal(s.receiver.received.length, 8);
            assert.equal(new Set(s.receiver.received.map((r) => r.id)).size, 1);
            const [row] = await deliveriesOf(owner, s.org.orgId);
            const [{ prefix }] = await owner<{ prefix: string }>(
              "select max(length(response_prefix)) as prefix from public.webhook_attempts where delivery_id = $1",
              [row.id],
            );
            assert.ok(Number(prefix) <= 256, "only a short prefix of the answer is kept");
            const [endpoint] = await owner<{ active: boolean }>(
              "select active from public.webhook_endpoints where id = $1",
              [s.webhookId],
            );
            assert.equal(endpoint.active, true, "one failed delivery does not disable");
          } finally {
            await s.close();
          }
        });

        await t.step("429 and 503 wait at least their Retry-After", async () => {
          const retryAt = new Date(Date.now() + 2 * HOUR);
          const s = await subscribedOrg(
            db,
            owner,
            (n) =>
              n === 1
                ? { status: 429, headers: { "retry-after": "120" } }
                : n === 2
                ? { status: 503, headers: { "retry-after": retryAt.toUTCString() } }
                : { status: 200 },
          );
          try {
            await s.link(0, [6]);
            await dispatcher.round();
            let [row] = await deliveriesOf(owner, s.org.orgId);
            let wait = row.next_attempt_at.getTime() - clock.now().getTime();
            assert.ok(wait >= 120 * SECOND, `429 Retry-After: 120 waits ${wait} ms`);
            reach(row);
            await dispatcher.round();
            [row] = await deliveriesOf(owner, s.org.orgId);
            wait = row.next_attempt_at.getTime() - clock.now().getTime();
            // The date is read against the wall clock, and the wait starts at the dispatcher's.
            assert.ok(wait >= 2 * HOUR - 5 * SECOND, `503 with a date 2 h ahead waits ${wait} ms`);
            reach(row);
            assert.equal((await dispatcher.round()).succeeded, 1);
          } finally {
            await s.close();
          }
        });

        await t.step("410 turns the endpoint off; it gets nothing more", async () => {
          const s = await subscribedOrg(db, owner, () => ({ status: 410 }));
          try {
            await s.link(0, [7]);
            await dispatcher.round();
            const [row] = await deliveriesOf(owner, s.org.orgId);
            assert.equal(row.status, "failed");
            const { app } = buildApp(db);
            const list = await send(app, "GET", "/api-gateway/v1/webhooks", {
              key: s.org.keys.only["webhooks:read"],
            });
            const mine = list.json.data.find((w: { id: string }) => w.id === s.webhookId);
            assert.equal(mine.active, false);
            assert.equal(mine.disabled_reason, "gone");
            assert.equal(mine.last_delivery_status, "failed");
            await s.link(1, [7]);
            assert.equal((await deliveriesOf(owner, s.org.orgId)).length, 1, "no new delivery");
            clock.advance(HOUR);
            assert.equal((await dispatcher.round()).claimed, 0);
            assert.equal(s.receiver.received.length, 1);
          } finally {
            await s.close();
          }
        });

        await t.step("a redirect is not followed: the attempt failed", async () => {
          let elsewhere = 0;
          const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
            elsewhere++;
            return new Response("ok");
          });
          const s = await subscribedOrg(db, owner, () => ({
            status: 307,
            headers: { location: `http://127.0.0.1:${other.addr.port}/` },
          }));
          try {
            await s.link(0, [0]);
            assert.deepEqual(await dispatcher.round(), { claimed: 1, succeeded: 0, failed: 1 });
            const [row] = await deliveriesOf(owner, s.org.orgId);
            assert.deepEqual(
              (await attemptsOf(owner, row.id)).map((a) => [a.status_code, a.error_class]),
              [[307, "redirect"]],
            );
            assert.equal(elsewhere, 0, "the Location was never fetched");
            assert.equal(row.status, "pending", "retried on the schedule");
          } finally {
            await s.close();
            await other.shutdown();
          }
        });

        await t.step("a receiver that does not answer in time: a timeout, retried", async () => {
          const s = await subscribedOrg(db, owner, () => "hang");
          try {
            await s.link(0, [1]);
            const round = await dispatcher.round({ timeoutMs: 300 });
            assert.deepEqual(round, { claimed: 1, succeeded: 0, failed: 1 });
            const [row] = await deliveriesOf(owner, s.org.orgId);
            assert.deepEqual(
              (await attemptsOf(owner, row.id)).map((a) => [a.status_code, a.error_class]),
              [[null, "timeout"]],
            );
            assert.equal(row.status, "pending");
          } finally {
            await s.close();
          }
        });

        await t.step("after a rotation both secrets sign, for 24 hours", async () => {
          // The rotation's 24 hours run from the database's now: the clock goes back near it.
          clock.set(new Date(Date.now() + MINUTE));
          const s = await subscribedOrg(db, owner);
          try {
            const { app } = buildApp(db);
            const old = s.secrets[0];
            const rotated = await send(
              app,
              "POST",
              `/api-gateway/v1/webhooks/${s.webhookId}/rotate-secret`,
              { key: s.org.keys.only["webhooks:write"] },
            );
            assert.equal(rotated.status, 200, rotated.text);
            const fresh = rotated.json.data.webhook.secret;
            s.secrets.splice(0, 1, fresh, old);
            await s.link(0, [2]);
            await dispatcher.round();
            let got = s.receiver.received.at(-1)!;
            assert.equal(got.signature.split(" ").length, 2, "two v1 signatures");
            assert.ok(got.signature.split(" ").every((sig) => sig.startsWith("v1,")));
            assert.deepEqual(got.verifiedBy, [fresh, old], "each secret verifies on its own");

            clock.advance(DAY + MINUTE);
            await s.link(1, [2]);
            await dispatcher.round();
            got = s.receiver.received.at(-1)!;
            assert.equal(got.signature.split(" ").length, 1);
            assert.deepEqual(got.verifiedBy, [fresh], "the old secret stops signing after 24 h");
          } finally {
            await s.close();
          }
        });

        await t.step("an endpoint whose deliveries all fail for 5 days is turned off", async () => {
          let status = 500;
          const s = await subscribedOrg(db, owner, () => ({ status }));
          try {
            await s.link(0, [3]);
            await dispatcher.round();
            const started = clock.now().getTime();
            // A success within the 5 days ends the streak ...
            status = 200;
            clock.set(new Date(started + 2 * DAY));
            await s.link(1, [3]);
            await dispatcher.round();
            status = 500;
            clock.set(new Date(started + 5 * DAY + MINUTE));
            await s.link(2, [3]);
            await dispatcher.round();
            const active = async () =>
              (await owner<{ active: boolean; disabled_reason: string | null }>(
                "select active, disabled_reason from public.webhook_endpoints where id = $1",
                [s.webhookId],
              ))[0];
            assert.deepEqual(await active(), { active: true, disabled_reason: null });
            // ... and 5 days of nothing but failures turn it off.
            clock.set(new Date(started + 10 * DAY + 2 * MINUTE));
            await s.link(0, [3]);
            await dispatcher.round();
            assert.deepEqual(await active(), { active: false, disabled_reason: "failing" });
            clock.advance(DAY);
            assert.equal((await dispatcher.round()).claimed, 0, "a disabled endpoint gets nothing");
          } finally {
            await s.close();
          }
        });

        await t.step("retention: attempts older than 30 days are purged", async () => {
          // Deliveries end on the database's clock: the dispatcher's goes back near it.
          clock.set(new Date(Date.now() + MINUTE));
          const s = await subscribedOrg(db, owner);
          try {
            await s.link(0, [4]);
            await dispatcher.round();
            const [row] = await deliveriesOf(owner, s.org.orgId);
            const count = async () =>
              Number(
                (await owner<{ n: string }>(
                  "select count(*) as n from public.webhook_attempts where delivery_id = $1",
                  [row.id],
                ))[0].n,
              );
            assert.equal(await count(), 1);
            const purge = (at: Date) =>
              owner("select public.purge_webhook_history(p_now => $1)", [at.toISOString()]);
            await purge(new Date(clock.now().getTime() + 29 * DAY));
            assert.equal(await count(), 1, "kept for 30 days");
            await purge(new Date(clock.now().getTime() + 31 * DAY));
            assert.equal(await count(), 0, "gone after 30 days");
          } finally {
            await s.close();
          }
        });

        await t.step("one org's dead endpoint never holds back another org's", async () => {
          const dead = await subscribedOrg(db, owner, () => "hang");
          const alive = await subscribedOrg(db, owner);
          try {
            // The dead org's backlog is older than the live org's delivery, and the claim is
            // smaller than the backlog: it takes every endpoint's oldest before any second.
            for (let i = 0; i < 8; i++) await dead.link(i % 3, [i]);
            await alive.link(0, [0]);
            const first = dispatcher.round({ limit: 2, timeoutMs: 60_000 });
            let firstSettled = false;
            first.finally(() => firstSettled = true).catch(() => {});
            await until(
              () => alive.receiver.received.length === 1,
              "the live endpoint's delivery",
              15_000,
            );
            // A round that starts while the dead endpoint hangs still delivers the live org's
            // next change; the dead endpoint gets at most 5 deliveries in flight.
            await alive.link(1, [0]);
            const second = await dispatcher.round({ limit: 50, timeoutMs: 300 });
            assert.equal(alive.receiver.received.length, 2, "the live org got both deliveries");
            assert.equal(second.succeeded, 1);
            assert.equal(second.claimed, 1 + 4, "the dead endpoint: 1 in flight + 4 more");
            assert.ok(!firstSettled, "all while the first round's dead delivery still hangs");
            dead.receiver.release();
            await first;
          } finally {
            await dead.close();
            await alive.close();
          }
        });

        await t.step(
          "addresses that are not public are refused before any connection",
          async () => {
            // An endpoint made when its name resolved to a public address, now resolving to a
            // private one (DNS rebinding), and endpoints stored before the policy: every delivery
            // is refused before fetch is called.
            const s = await subscribedOrg(db, owner);
            try {
              const answers: Record<string, string[]> = {
                "rebind.example.com": [PUBLIC_TEST_ADDRESS],
              };
              const resolve: Resolver = (host) => Promise.resolve(answers[host] ?? []);
              const { app } = buildApp(db, {
                webhooks: { urlPolicy: { resolve }, fetch: dispatcher.guard.fetch },
              });
              const created = await send(app, "POST", "/api-gateway/v1/webhooks", {
                key: s.org.keys.only["webhooks:write"],
                body: {
                  url: "https://rebind.example.com/hook",
                  events: ["company.contacts_linked"],
                },
              });
              assert.equal(created.status, 201, created.text);
              answers["rebind.example.com"] = ["10.0.0.7", PUBLIC_TEST_ADDRESS];
              const stored = [
                "https://127.0.0.1/x",
                "https://[::1]/x",
                "https://[::ffff:169.254.169.254]/x",
                "https://2130706433/x",
                "https://0x7f.1/x",
                "http://127.0.0.1:9/x",
                "https://metadata.internal/x",
                "https://[fd00::1]/x",
              ];
              for (const url of stored) {
                await owner(
                  `insert into public.webhook_endpoints (org_id, url, events, secret)
                   values ($1, $2, $3, $4)`,
                  [s.org.orgId, url, ["company.contacts_linked"], (await storedSecret()).stored],
                );
              }
              await owner(
                "update public.webhook_endpoints set active = false where id = $1",
                [s.webhookId],
              );
              await s.link(0, [5]);
              const calls = dispatcher.guard.calls.length;
              const round = await testDispatcher(db, {
                urlPolicy: { resolve },
                fetch: dispatcher.guard.fetch,
              }).round({ limit: 50 });
              assert.equal(round.claimed, stored.length + 1);
              assert.equal(round.failed, stored.length + 1);
              assert.equal(dispatcher.guard.calls.length, calls, "fetch was never called");
              const classes = await owner<{ error_class: string; n: string }>(
                `select a.error_class, count(*) as n from public.webhook_attempts a
                 where a.org_id = $1 group by a.error_class`,
                [s.org.orgId],
              );
              assert.deepEqual(
                classes.map((c) => [c.error_class, Number(c.n)]),
                [["blocked_address", stored.length + 1]],
              );
            } finally {
              await s.close();
            }
          },
        );

        await t.step("no secret or signature is ever logged", async () => {
          assert.ok(dispatcher.logs.length > 20, "the attempts above were logged");
          for (const line of dispatcher.logs) {
            const entry = JSON.parse(line);
            for (const field of ["url", "secrets", "signature", "body"]) {
              assert.ok(!(field in entry), `no ${field} in a log line`);
            }
            assert.ok(!line.includes("v1,"), "no signature in a log line");
          }
          const stored = (await owner<{ secret: string }>(
            "select secret from public.webhook_endpoints",
            [],
          )).map((r) => r.secret);
          assertNoSecrets(dispatcher.logs, stored);
          const secrets = await Promise.all(stored.map((x) => testKeyring.decrypt(x)));
          assertNoSecrets(dispatcher.logs, secrets);
          assertNoSecrets(dispatcher.logs, secrets.map((x) => x.slice("whsec_".length)));
        });

        dispatcher.assertLoopbackOnly();
      } finally {
        await target.close();
      }
    },
  );
}
