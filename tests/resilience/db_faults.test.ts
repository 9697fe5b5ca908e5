import assert from "node:assert/strict";
import { connectPostgres } from "../../local/postgres.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { spawnDev } from "../harness/dev_server.ts";
import { startPostgres } from "../../local/postgres_server.ts";
import { stepWithOutput } from "../harness/server_output.ts";
import { targetTestOptions } from "../harness/targets.ts";
import { freePort } from "../../local/net.ts";
import { latencySummary, sleep } from "./support.ts";
/** A 503 must come back well before this; the point is "bounded", not "fast". */
const HANG_BOUND_MS = 15_000;
const RECOVERY_BOUND_MS = 20_000;
const LEAKY = /ECONN|postgres|connection|SQL|select|127\.0\.0\.1/i;

Deno.test(
  {
    name: "resilience: Postgres faults under a running `deno task dev`",
    ...targetTestOptions("postgres"),
  },
  async (t) => {
    // A dedicated server: this test stops it, so it must not be the shared one. Its orgs are
    // unthrottled: the test retries in loops, and a 429 is not what it is about.
    const pg = await startPostgres();
    const admin = connectPostgres(pg.url, { role: null, max: 1 });
    await admin`update public.orgs set rate_limit_per_minute = 1000000, rate_limit_per_day = 1000000`;
    await admin.end();
    const dev = spawnDev(freePort(), { env: { DATABASE_URL: pg.url } });
    let faults = 0;
    const faultLatencies: number[] = [];

    // The demo org's company and contacts, as the dev server prints them in its curl (the seed is
    // their one home).
    let url = "";
    let companyId = "";
    let contactIds: string[] = [];
    let key = "";
    const link = async () => {
      const started = performance.now();
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ contact_ids: contactIds }),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, ms: performance.now() - started };
    };
    const assertUnavailable = (res: Awaited<ReturnType<typeof link>>, what: string) => {
      assert.equal(res.status, 503, `${what}: ${res.text}`);
      assert.equal(JSON.parse(res.text).error.code, "service_unavailable");
      assert.ok(res.headers.get("retry-after"), "Retry-After is set");
      assert.doesNotMatch(res.text, LEAKY, "no driver or SQL text in the body");
      assert.ok(res.ms < HANG_BOUND_MS, `${what} answered in ${Math.round(res.ms)}ms: a hang`);
    };
    /** Polls until the gateway answers 200 again; returns how long that took. */
    const recover = async (what: string) => {
      const started = performance.now();
      const seen: number[] = [];
      for (;;) {
        const res = await link();
        seen.push(res.status);
        if (res.status === 200) break;
        assert.equal(res.status, 503, `${what}: only 503 while recovering: ${res.text}`);
        assert.ok(
          performance.now() - started < RECOVERY_BOUND_MS,
          `${what}: no 200 within ${RECOVERY_BOUND_MS}ms (${seen.join(",")})`,
        );
        await sleep(250);
      }
      assert.equal(dev.exited, false, "the same gateway process recovered");
      const ms = performance.now() - started;
      console.log(`  ${what}: 200 after ${Math.round(ms)}ms, statuses ${seen.join(",")}`);
      return ms;
    };

    const servers = [dev, pg];
    try {
      const banner = await dev.ready();
      key = dev.key();
      const printed = /curl -sS -X POST (\S+\/companies\/([0-9a-f-]{36})\/contacts\/link)/
        .exec(banner)!;
      url = printed[1].replace("localhost", "127.0.0.1");
      companyId = printed[2];
      contactIds = JSON.parse(/-d '([^']+)'/.exec(banner)![1]).contact_ids;
      assert.match(
        banner,
        new RegExp(`^database: postgresql://\\S+ \\(Postgres at 127\\.0\\.0\\.1:${pg.port},`, "m"),
      );

      await stepWithOutput(
        t,
        "the gateway answers 200 on the running database",
        servers,
        async () => {
          const res = await link();
          assert.equal(res.status, 200, res.text);
          assert.deepEqual(JSON.parse(res.text).data, {
            updated: contactIds.length,
            failed: 0,
            failed_ids: [],
          });
        },
      );

      await stepWithOutput(
        t,
        "Postgres stopped: 503 service_unavailable, promptly",
        servers,
        async () => {
          await pg.stop();
          faults++;
          const seen: number[] = [];
          for (let i = 0; i < 4; i++) {
            const res = await link();
            assertUnavailable(res, `request ${i + 1} while stopped`);
            seen.push(res.ms);
          }
          faultLatencies.push(...seen);
          console.log(
            `  stopped: 4 x 503, latencies ${seen.map((ms) => Math.round(ms)).join(", ")}ms`,
          );
        },
      );

      await stepWithOutput(
        t,
        "Postgres restarted: the same process recovers",
        servers,
        async () => {
          await pg.start();
          await recover("after restart");
        },
      );

      await stepWithOutput(
        t,
        "Postgres stopped under in-flight requests: 200 or 503, never 500",
        servers,
        async () => {
          // Each request's failure is caught where it happens (not left unhandled until the stop is
          // done), and fails this step with what the dev server printed.
          const inFlight = Array.from({ length: 16 }, async (_, i) => {
            await sleep(i * 20);
            return await link().catch((err: Error) => err);
          });
          await sleep(100);
          await pg.stop();
          faults++;
          const settled = await Promise.all(inFlight);
          const errors = settled.filter((r) => r instanceof Error);
          assert.deepEqual(errors.map((e) => e.message), [], "every in-flight request answered");
          const results = settled as Awaited<ReturnType<typeof link>>[];
          const counts: Record<number, number> = {};
          for (const res of results) {
            counts[res.status] = (counts[res.status] ?? 0) + 1;
            if (res.status !== 200) assertUnavailable(res, "in-flight request");
          }
          faultLatencies.push(...results.filter((r) => r.status === 503).map((r) => r.ms));
          console.log(
            `  stopped mid-traffic: ${JSON.stringify(counts)}, ` +
              `latency ${latencySummary(results.map((r) => r.ms))}`,
          );
          // Whatever was in flight, the server is down now.
          assertUnavailable(await link(), "request after the stop");
          await pg.start();
          await recover("after the second restart");
        },
      );

      await stepWithOutput(
        t,
        "company row locked elsewhere: 503 within the statement/lock timeout, no hang",
        servers,
        async () => {
          const holder = connectPostgres(pg.url, { role: null, max: 1 });
          let release!: () => void;
          const released = new Promise<void>((r) => release = r);
          let locked!: () => void;
          const isLocked = new Promise<void>((r) => locked = r);
          const held = holder.begin(async (tx) => {
            await tx.unsafe("select id from public.companies where id = $1 for update", [
              companyId,
            ]);
            locked();
            await released;
          });
          try {
            await Promise.race([isLocked, held]);
            faults++;
            const res = await link();
            faultLatencies.push(res.ms);
            console.log(`  lock held: ${res.status} after ${Math.round(res.ms)}ms`);
            assertUnavailable(res, "request on a locked company");
          } finally {
            release();
            await held;
            await holder.end();
          }
          const res = await link();
          assert.equal(res.status, 200, `after release: ${res.text}`);
        },
      );

      await stepWithOutput(
        t,
        "no key or key hash in the gateway's own log lines",
        servers,
        async () => {
          const hash = await hashApiKey(key);
          const lines = (dev.stdout.text + "\n" + dev.stderr.text).split("\n");
          const withKey = lines.filter((l) => l.includes(key));
          assert.ok(withKey.length > 0, "the banner shows the key");
          assert.ok(
            withKey.every((l) => l.trim() === key || l.includes("Authorization: Bearer")),
            "the key appears only in the startup banner",
          );
          assert.ok(!lines.some((l) => l.includes(hash)), "the key's hash is never logged");
          const requestLines = lines.filter((l) => l.startsWith("{"));
          assert.ok(requestLines.length > 0, "requests are logged");
          assert.ok(
            requestLines.every((l) => !LEAKY.test(l)),
            "no driver or SQL text in log lines",
          );
        },
      );

      console.log(
        `  faults injected: ${faults}; 503 latencies ${latencySummary(faultLatencies)}`,
      );
    } finally {
      await dev.stop();
      await pg.destroy();
    }
  },
);
