// Plan rate limits as clients see them: limits from data, both windows, the headers on every
// authenticated answer, what counts and what does not. Time is the app's clock, moved by hand.
import assert from "node:assert/strict";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { buildApp, manualClock } from "../harness/app.ts";
import { createTenant, type Tenant, usageOf } from "../harness/fixtures.ts";
import { type Answer, sendRoute } from "../harness/http.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";
import { generateApiKey, hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";

const LINK = ENDPOINTS.find((e) => e.sql.fn === "link_contacts_to_company")!;
const LIST = ENDPOINTS.find((e) => e.sql.fn === "list_company_contacts")!;
const NOW = "2031-05-06T07:08:20Z";
const MIDNIGHT = Date.parse("2031-05-07T00:00:00Z") / 1000;
const TO_MIDNIGHT = MIDNIGHT - Date.parse(NOW) / 1000;

const headersOf = (res: Answer) => ({
  limit: res.headers.get("x-ratelimit-limit"),
  remaining: res.headers.get("x-ratelimit-remaining"),
  reset: res.headers.get("x-ratelimit-reset"),
  policy: res.headers.get("ratelimit-policy"),
  now: res.headers.get("ratelimit"),
});

for (const kind of TARGET_KINDS) {
  Deno.test({ name: `rate limits [${kind}]`, ...targetTestOptions(kind) }, async (t) => {
    const target = await getTarget(kind);
    const clock = manualClock(NOW);
    const { app } = buildApp(target.db, { clock: clock.now });
    const link = (org: Tenant, opts: { key?: string; body?: unknown; company?: string } = {}) =>
      sendRoute(app, LINK, {
        params: { id: opts.company ?? org.companyIds[0] },
        body: opts.body ?? { contact_ids: [org.contactIds[0]] },
      }, { key: opts.key ?? org.keys.write });
    const plain = (plan: string, extra: object = {}) =>
      createTenant(target.owner, { plan, perMinute: null, perDay: null, ...extra });

    await t.step("each plan's limits come from the plans table, in every header", async () => {
      for (
        const [plan, perDay, perMinute] of [["starter", 100, 10], ["pro", 1000, 50], [
          "org",
          10000,
          200,
        ]] as const
      ) {
        const res = await link(await plain(plan));
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(headersOf(res), {
          limit: String(perDay),
          remaining: String(perDay - 1),
          reset: String(MIDNIGHT),
          policy: `"minute";q=${perMinute};w=60, "day";q=${perDay};w=86400`,
          now: `"minute";r=${perMinute - 1};t=40`,
        }, plan);
      }
    });

    await t.step("a plan is data: changing the row changes the limit", async () => {
      const org = await plain("starter");
      await target.owner("update public.orgs set plan = 'pro' where id = $1", [org.orgId]);
      assert.equal(headersOf(await link(org)).limit, "1000");
    });

    await t.step("per-org overrides beat the plan, each window on its own", async () => {
      const minuteOnly = await plain("starter", { perMinute: 3 });
      assert.equal(
        headersOf(await link(minuteOnly)).policy,
        '"minute";q=3;w=60, "day";q=100;w=86400',
      );
      const dayOnly = await plain("pro", { perDay: 7 });
      assert.equal(headersOf(await link(dayOnly)).policy, '"minute";q=50;w=60, "day";q=7;w=86400');
      const suspended = await plain("org", { perDay: 0 });
      const res = await link(suspended);
      assert.equal(res.status, 429);
      assert.match(res.json.error.message, /daily quota of 0/);
    });

    await t.step(
      "the minute window: 429 with Retry-After to the next minute, then served",
      async () => {
        const org = await plain("starter");
        for (let i = 0; i < 10; i++) assert.equal((await link(org)).status, 200);
        const usage = await usageOf(target.owner, org.orgId, clock.now());
        const res = await link(org);
        assert.equal(res.status, 429);
        assert.equal(res.json.error.code, "rate_limited");
        assert.match(res.json.error.message, /per-minute quota of 10 requests/);
        assert.equal(res.headers.get("retry-after"), "40");
        assert.deepEqual(headersOf(res), {
          limit: "100",
          remaining: "90",
          reset: String(MIDNIGHT),
          policy: '"minute";q=10;w=60, "day";q=100;w=86400',
          now: '"minute";r=0;t=40',
        });
        assert.deepEqual(
          await usageOf(target.owner, org.orgId, clock.now()),
          usage,
          "took nothing",
        );
        clock.advance(40_000);
        const next = await link(org);
        assert.equal(next.status, 200);
        assert.equal(headersOf(next).now, '"minute";r=9;t=60');
        clock.set(NOW);
      },
    );

    await t.step("the day window: 429 until 00:00 UTC, and no minute token taken", async () => {
      const org = await plain("starter", { perDay: 2 });
      await link(org);
      const second = await link(org);
      // The day has 1 left... now 0, fewer than the minute's: RateLimit names the day.
      assert.equal(headersOf(second).now, `"day";r=0;t=${TO_MIDNIGHT}`);
      const res = await link(org);
      assert.equal(res.status, 429);
      assert.match(res.json.error.message, /daily quota of 2 requests/);
      assert.equal(res.headers.get("retry-after"), String(TO_MIDNIGHT));
      assert.equal(headersOf(res).remaining, "0");
      assert.deepEqual(await usageOf(target.owner, org.orgId, clock.now()), { day: 2, minute: 2 });
      clock.set("2031-05-06T23:59:59.900Z");
      const late = await link(org);
      assert.equal(late.headers.get("retry-after"), "1", "at least 1 second");
      clock.set("2031-05-07T00:00:00Z");
      const tomorrow = await link(org);
      assert.equal(tomorrow.status, 200, "the day resets at 00:00 UTC");
      assert.equal(headersOf(tomorrow).reset, String(MIDNIGHT + 86_400));
      clock.set(NOW);
    });

    await t.step("the quota is the org's: all its keys and routes share it", async () => {
      const org = await plain("starter", { perMinute: 4 });
      const other = await plain("starter", { perMinute: 4 });
      assert.equal((await link(org, { key: org.keys.write })).status, 200);
      assert.equal((await link(org, { key: org.keys.all })).status, 200);
      const list = await sendRoute(app, LIST, { params: { id: org.companyIds[0] } }, {
        key: org.keys.read,
      });
      assert.equal(list.status, 200);
      assert.equal(headersOf(list).now, '"minute";r=1;t=40');
      assert.equal((await link(org, { key: org.keys.all })).status, 200);
      assert.equal((await link(org, { key: org.keys.write })).status, 429);
      assert.equal((await link(other)).status, 200, "another org is not affected");
    });

    await t.step("400, 403 and 404 count; 401 and 429 do not", async () => {
      const org = await plain("starter", { perMinute: 5 });
      const day = async () => (await usageOf(target.owner, org.orgId, clock.now())).day;
      const bad = await link(org, { body: { contact_ids: [] } });
      assert.equal(bad.status, 400);
      assert.equal(headersOf(bad).remaining, "99");
      assert.equal((await link(org, { key: org.keys.read })).status, 403);
      assert.equal((await link(org, { company: crypto.randomUUID() })).status, 404);
      assert.equal(await day(), 3);
      assert.equal((await link(org, { key: org.keys.revoked })).status, 401);
      assert.equal((await link(org, { key: generateApiKey() })).status, 401);
      assert.equal(await day(), 3, "invalid keys count against no org");
      await link(org);
      await link(org);
      assert.equal((await link(org)).status, 429);
      assert.equal((await link(org, { body: { contact_ids: [] } })).status, 429, "429 before 400");
      assert.equal(await day(), 5);
    });

    await t.step("reset_in: whole seconds, rounded up, at least 1", async () => {
      const org = await plain("starter", { perMinute: 1 });
      // 39.4 s to the minute's end: 40 rounded up (39 rounded or cut).
      clock.set("2031-05-06T07:08:20.600Z");
      const first = await link(org);
      assert.equal(headersOf(first).now, '"minute";r=0;t=40');
      clock.set("2031-05-06T07:08:59.999Z");
      const refused = await link(org);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "1", "a millisecond left: 1 second");
      assert.equal(headersOf(refused).now, '"minute";r=0;t=1');
      clock.set(NOW);
    });

    await t.step("last_used_at: written at most once a minute, never moved back", async () => {
      const org = await plain("org");
      const lastUsed = async () => {
        const [row] = await target.owner<{ at: Date | string | null }>(
          "select last_used_at as at from public.api_keys where key_hash = $1",
          [await hashApiKey(org.keys.write)],
        );
        return row.at === null ? null : new Date(row.at).toISOString();
      };
      const at = Date.parse(NOW);
      const use = async (offsetMs: number) => {
        clock.set(new Date(at + offsetMs));
        assert.equal((await link(org)).status, 200);
        return await lastUsed();
      };
      assert.equal(await use(0), NOW.replace("Z", ".000Z"), "the first use is recorded");
      assert.equal(await use(30_000), NOW.replace("Z", ".000Z"), "30 s later: not again");
      assert.equal(await use(60_000), NOW.replace("Z", ".000Z"), "a minute later: not again");
      assert.equal(
        await use(60_001),
        new Date(at + 60_001).toISOString(),
        "past a minute: written",
      );
      assert.equal(await use(-3_600_000), new Date(at + 60_001).toISOString(), "never back");
      clock.set(NOW);
    });

    await t.step("CORS exposes every rate-limit header", async () => {
      const org = await plain("pro");
      const res = await sendRoute(app, LINK, {
        params: { id: org.companyIds[0] },
        body: { contact_ids: [org.contactIds[0]] },
      }, { key: org.keys.write, headers: { origin: "https://app.example" } });
      const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase()
        .split(/,\s*/);
      for (
        const name of [
          "x-ratelimit-limit",
          "x-ratelimit-remaining",
          "x-ratelimit-reset",
          "ratelimit-policy",
          "ratelimit",
          "retry-after",
        ]
      ) {
        assert.ok(exposed.includes(name), `${name} is exposed: ${exposed}`);
      }
    });
    await target.close();
  });
}
