// A key refused for its window is refused by the app without a database call until the window
// resets (kit/refusals.ts), exactly as the database would answer: the same status, body and
// headers, Retry-After counting down. Time is the app's clock, moved by hand.
import assert from "node:assert/strict";
import {
  createRefusals,
  MAX_REFUSAL_MS,
} from "../../supabase/functions/api-gateway/kit/refusals.ts";
import type { Outcome } from "../../supabase/functions/api-gateway/kit/outcome.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { buildApp, manualClock } from "../harness/app.ts";
import { createTenant, type Tenant } from "../harness/fixtures.ts";
import { type Answer, sendRoute } from "../harness/http.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const LINK = ENDPOINTS.find((e) => e.sql.fn === "link_contacts_to_company")!;
const LIST = ENDPOINTS.find((e) => e.sql.fn === "list_company_contacts")!;
const NOW = "2031-05-06T07:08:20Z";

/** Every header of an answer but the request id, which differs per request. */
const headersOf = (res: Answer) =>
  Object.fromEntries([...res.headers].filter(([name]) => name !== "x-request-id"));

for (const kind of TARGET_KINDS) {
  Deno.test({ name: `refused keys [${kind}]`, ...targetTestOptions(kind) }, async (t) => {
    const target = await getTarget(kind);
    const clock = manualClock(NOW);
    const { app, calls } = buildApp(target.db, { clock: clock.now });
    const link = (org: Tenant, key = org.keys.write, body: unknown = undefined) =>
      sendRoute(app, LINK, {
        params: { id: org.companyIds[0] },
        body: body ?? { contact_ids: [org.contactIds[0]] },
      }, { key });
    /** The answer, and how many database calls it made. */
    const counted = async (send: () => Promise<Answer>) => {
      const before = calls.length;
      const res = await send();
      return { res, calls: calls.length - before };
    };

    await t.step("the minute window: refused without a call until it resets", async () => {
      const org = await createTenant(target.owner, { perMinute: 2 });
      await link(org);
      await link(org);
      const first = await counted(() => link(org));
      assert.equal(first.res.status, 429);
      assert.equal(first.calls, 1, "the database refused it");
      assert.equal(first.res.headers.get("retry-after"), "40");

      clock.advance(15_500);
      const again = await counted(() => link(org));
      assert.equal(again.calls, 0, "refused by the app");
      assert.equal(again.res.status, 429);
      // As the database would answer 15.5 s later: 24.5 s left, rounded up.
      assert.deepEqual(headersOf(again.res), {
        ...headersOf(first.res),
        "retry-after": "25",
        ratelimit: '"minute";r=0;t=25',
      });
      assert.deepEqual(again.res.json, {
        error: {
          code: "rate_limited",
          message: first.res.json.error.message.replace("after 40 seconds", "after 25 seconds"),
        },
      });

      const invalid = await counted(() => link(org, org.keys.write, { contact_ids: "x" }));
      assert.equal(invalid.res.status, 429, "429 before 400, as the database orders them");
      assert.equal(invalid.calls, 0);
      const list = await counted(() =>
        sendRoute(app, LIST, { params: { id: org.companyIds[0] } }, { key: org.keys.all })
      );
      assert.equal(list.res.status, 429, "another key of the org asks the database");
      assert.equal(list.calls, 1);

      clock.set("2031-05-06T07:08:59.999Z");
      const last = await counted(() => link(org));
      assert.equal(last.calls, 0);
      assert.equal(last.res.headers.get("retry-after"), "1", "at least 1 second");

      clock.set("2031-05-06T07:09:00Z");
      const reset = await counted(() => link(org));
      assert.equal(reset.calls, 1, "the first request after the reset goes to the database");
      assert.equal(reset.res.status, 200);
      clock.set(NOW);
    });

    await t.step("the day window: remembered a minute at most", async () => {
      const org = await createTenant(target.owner, { perDay: 1 });
      await link(org);
      const refused = await counted(() => link(org));
      assert.equal(refused.res.status, 429);
      assert.match(refused.res.json.error.message, /daily quota of 1/);
      clock.advance(MAX_REFUSAL_MS - 1);
      assert.equal((await counted(() => link(org))).calls, 0);
      clock.advance(1);
      const asked = await counted(() => link(org));
      assert.equal(asked.calls, 1, "after a minute the database is asked again");
      assert.equal(asked.res.status, 429, "and still refuses: the day is spent");
      clock.set(NOW);
    });

    await t.step("other refusals are not remembered", async () => {
      const org = await createTenant(target.owner);
      for (const key of [org.keys.read, org.keys.revoked]) {
        const first = await counted(() => link(org, key));
        const second = await counted(() => link(org, key));
        assert.ok([401, 403].includes(first.res.status));
        assert.equal(second.calls, 1, "401 and 403 always ask the database");
      }
    });
    await target.close();
  });
}

const refused = (reset: number, window: "minute" | "day" = "minute"): Outcome => ({
  outcome: "rate_limited",
  org_id: "o",
  key_prefix: "wbk_x",
  rate_limit: {
    window,
    minute: { limit: 1, remaining: 0, reset, reset_in: 1 },
    day: { limit: 9, remaining: 8, reset: reset + 3600, reset_in: 1 },
  },
});

Deno.test("refusals: bounded, expired entries first, then the oldest", () => {
  const at = 1_000_000_000_000;
  const refusals = createRefusals(3);
  refusals.remember("a", refused(at / 1000 + 10), at);
  refusals.remember("b", refused(at / 1000 + 50), at);
  refusals.remember("c", refused(at / 1000 + 50), at);
  refusals.remember("d", refused(at / 1000 + 50), at + 20_000);
  assert.equal(refusals.size, 3);
  assert.equal(refusals.standing("a", at + 20_000), null, "the expired one made room");
  refusals.remember("e", refused(at / 1000 + 50), at + 20_000);
  assert.equal(refusals.size, 3);
  assert.equal(refusals.standing("b", at + 20_000), null, "then the oldest");
  for (const key of ["c", "d", "e"]) assert.ok(refusals.standing(key, at + 20_000), key);
});

Deno.test("refusals: only a spent window, and its reset counted down", () => {
  const at = 2_000_000_000_000;
  const refusals = createRefusals();
  refusals.remember("busy", { ...refused(at / 1000 + 30), outcome: "busy" }, at);
  refusals.remember("ok", { ...refused(at / 1000 + 30), outcome: "ok" }, at);
  assert.equal(refusals.size, 0);
  refusals.remember("k", refused(at / 1000 + 30), at);
  const standing = refusals.standing("k", at + 12_300)!;
  assert.equal(standing.rate_limit!.minute.reset_in, 18);
  assert.equal(standing.rate_limit!.day.reset_in, 3618);
  assert.equal(refusals.standing("k", at + 30_000), null, "gone at the reset");
  assert.equal(refusals.size, 0);
});
