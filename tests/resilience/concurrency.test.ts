import assert from "node:assert/strict";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, postgresJsQuery } from "../../local/sql_db.ts";
import { buildApp } from "../harness/app.ts";
import { companyOf, createTenant } from "../harness/fixtures.ts";
import { routePath } from "../harness/http.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";
import {
  deadlocksAfterClosing,
  latencySummary,
  orgDigest,
  randomInt,
  readDeadlocks,
  seededRandom,
  shuffle,
  withAppName,
} from "./support.ts";

const ROUNDS = 3;
const CONCURRENCY = 64;
const POOL_MAX = 16;
const COMPANIES = 4;
const POOL_CONTACTS = 120;
/** Contacts of the org that no request names: they must stay unlinked. */
const UNTOUCHED_CONTACTS = 5;
const MISSING_IDS = Array.from({ length: 6 }, () => crypto.randomUUID());

const byFunction = (fn: string) => ENDPOINTS.find((e) => e.sql.fn === fn)!;
const LINK = byFunction("link_contacts_to_company");
const UNLINK = byFunction("unlink_contacts_from_company");
const LIST = byFunction("list_company_contacts");

interface Sent {
  op: "link" | "unlink";
  companyId: string;
  ids: string[];
}

Deno.test(
  {
    name: "resilience: concurrent overlapping links on real Postgres",
    ...targetTestOptions("postgres"),
  },
  async (t) => {
    const target = await getTarget("postgres");
    const srv = { url: target.url! };
    const seed = Number(Deno.env.get("RESILIENCE_SEED") ?? Date.now() % 2 ** 31);
    const random = seededRandom(seed);

    await t.step(
      `${ROUNDS} rounds x ${CONCURRENCY} concurrent links, unlinks and lists: no 5xx, no deadlock`,
      async () => {
        const a = await createTenant(target.owner, {
          companies: COMPANIES,
          contacts: POOL_CONTACTS + UNTOUCHED_CONTACTS,
        });
        const b = await createTenant(target.owner, { companies: 1, contacts: 10 });
        // The other org's contacts start linked, so "unchanged" means something.
        await target.owner("update public.contacts set company_id = $1 where org_id = $2", [
          b.companyIds[0],
          b.orgId,
        ]);
        const bBefore = await orgDigest(target.owner, b.orgId);
        const pool = shuffle(a.contactIds, random);
        const sendable = pool.slice(0, POOL_CONTACTS);
        const untouched = pool.slice(POOL_CONTACTS);
        const ours = new Set(a.contactIds);

        // The gateway as deployed locally, over a real socket: the in-process app with the SQL
        // adapter on its own postgres.js pool (tagged, so its backends can be waited for).
        const appName = `resilience-concurrency-${crypto.randomUUID().slice(0, 8)}`;
        const url = withAppName(srv.url, appName);
        const sql = connectPostgres(url, { max: POOL_MAX });
        const { app, logs } = buildApp(createSqlDb(postgresJsQuery(sql)));
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          app.fetch,
        );
        const base = `http://127.0.0.1:${server.addr.port}`;

        const deadlocksBefore = await readDeadlocks(srv.url);
        const sentTo = new Map<string, Set<string>>();
        const statuses = new Map<number, number>();
        const failures: string[] = [];
        const latencies: number[] = [];
        let requests = 0;
        let totalUpdated = 0;
        let totalFailed = 0;
        try {
          for (let round = 1; round <= ROUNDS; round++) {
            const batch: Sent[] = Array.from({ length: CONCURRENCY }, () => {
              const companyId = a.companyIds[randomInt(random, 0, COMPANIES - 1)];
              const size = randomInt(random, 20, 100);
              const missing = randomInt(random, 0, 3);
              const otherOrg = randomInt(random, 0, 3);
              const dupes = randomInt(random, 0, 2);
              const own = shuffle(sendable, random).slice(0, size - missing - otherOrg - dupes);
              const ids = shuffle([
                ...own,
                ...shuffle(MISSING_IDS, random).slice(0, missing),
                ...shuffle(b.contactIds, random).slice(0, otherOrg),
                ...shuffle(own, random).slice(0, dupes),
              ], random);
              // One request in four unlinks: it takes the same locks in the same order.
              const op: Sent["op"] = random() < 0.25 ? "unlink" : "link";
              return { op, companyId, ids };
            });
            for (const { companyId, ids } of batch.filter((b) => b.op === "link")) {
              for (const id of ids.filter((i) => ours.has(i))) {
                if (!sentTo.has(id)) sentTo.set(id, new Set());
                sentTo.get(id)!.add(companyId);
              }
            }
            const started = performance.now();
            // Reads of the same companies run alongside; they must never block or fail.
            const reads = a.companyIds.map(async (companyId) => {
              const res = await fetch(`${base}${routePath(LIST, { id: companyId })}?per_page=100`, {
                headers: { authorization: `Bearer ${a.keys.all}` },
              });
              return { status: res.status, text: await res.text() };
            });
            const results = await Promise.all(batch.map(async ({ op, companyId, ids }) => {
              const t0 = performance.now();
              const endpoint = op === "link" ? LINK : UNLINK;
              const res = await fetch(`${base}${routePath(endpoint, { id: companyId })}`, {
                method: "POST",
                headers: {
                  authorization: `Bearer ${a.keys.write}`,
                  "content-type": "application/json",
                },
                body: JSON.stringify({ contact_ids: ids }),
              });
              const text = await res.text();
              latencies.push(performance.now() - t0);
              return { status: res.status, text };
            }));
            const wall = performance.now() - started;
            for (const read of await Promise.all(reads)) {
              requests++;
              statuses.set(read.status, (statuses.get(read.status) ?? 0) + 1);
              if (read.status !== 200) {
                failures.push(`list ${read.status} ${read.text.slice(0, 200)}`);
              }
            }

            results.forEach(({ status, text }, i) => {
              requests++;
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
              if (status !== 200) {
                failures.push(`${status} ${text.slice(0, 200)}`);
                return;
              }
              // Counts follow from the request alone: the org's contacts stay the org's, so
              // they are exactly the ids that end up linked somewhere by this run.
              const distinct = [...new Set(batch[i].ids)];
              const expected = {
                updated: distinct.filter((id) => ours.has(id)).length,
                failed: distinct.filter((id) => !ours.has(id)).length,
                failed_ids: distinct.filter((id) => !ours.has(id)),
              };
              const { data } = JSON.parse(text);
              assert.deepEqual(data, expected, `round ${round}, request ${i}`);
              totalUpdated += data.updated;
              totalFailed += data.failed;
            });
            const roundStatuses = results.map((r) => r.status);
            console.log(
              `  round ${round}: ${CONCURRENCY} concurrent requests in ${Math.round(wall)}ms, ` +
                `${roundStatuses.filter((s) => s === 200).length} x 200`,
            );
          }
        } finally {
          await server.shutdown();
        }
        // Closing the pool ends its backends, which flushes their statistics.
        const deadlocksAfter = await deadlocksAfterClosing(srv.url, appName, [sql]);

        console.log(
          `  concurrency: ${ROUNDS} rounds x ${CONCURRENCY} requests (pool max ${POOL_MAX}), ` +
            `${COMPANIES} companies, ${POOL_CONTACTS} contacts, seed ${seed}\n` +
            `  requests ${requests}, sum updated ${totalUpdated}, sum failed ${totalFailed}, ` +
            `latency ${latencySummary(latencies)}\n` +
            `  deadlocks before ${deadlocksBefore}, after ${deadlocksAfter}, ` +
            `delta ${deadlocksAfter - deadlocksBefore}`,
        );
        assert.deepEqual(failures, [], "every request answers 200");
        assert.equal(statuses.get(200), ROUNDS * (CONCURRENCY + COMPANIES));
        assert.equal(deadlocksAfter - deadlocksBefore, 0, "no deadlock");
        assert.ok(!logs.some((l) => l.includes('"level":"error"')), "no unhandled error logged");

        // Final state: each contact points at one of the companies it was linked to, or at none
        // (an unlink may have come last).
        const final = await companyOf(target.owner, a.contactIds);
        for (const id of sendable) {
          const options = sentTo.get(id);
          if (!options) {
            assert.equal(final[id], null, `${id} was never linked`);
            continue;
          }
          assert.ok(
            final[id] === null || options.has(final[id]!),
            `${id} points at ${final[id]}, not one of ${[...options].join(", ")}`,
          );
        }
        for (const id of untouched) assert.equal(final[id], null, `${id} was never sent`);
        assert.equal(await orgDigest(target.owner, b.orgId), bBefore, "other org unchanged");
      },
    );

    await t.step("control: opposite lock orders DO deadlock and the counter sees it", async () => {
      const c = await createTenant(target.owner, { companies: 1, contacts: 2 });
      const [x, y] = c.contactIds;
      const appName = `resilience-deadlock-control-${crypto.randomUUID().slice(0, 8)}`;
      const url = withAppName(srv.url, appName);
      const one = connectPostgres(url, { role: null, max: 1 });
      const two = connectPostgres(url, { role: null, max: 1 });
      const before = await readDeadlocks(srv.url);

      const lock = "select id from public.contacts where id = $1 for update";
      let firstLocked!: () => void;
      let secondLocked!: () => void;
      const first = new Promise<void>((r) => firstLocked = r);
      const second = new Promise<void>((r) => secondLocked = r);
      const results = await Promise.allSettled([
        one.begin(async (tx) => {
          await tx.unsafe(lock, [x]);
          firstLocked();
          await second;
          await tx.unsafe(lock, [y]);
        }),
        two.begin(async (tx) => {
          await tx.unsafe(lock, [y]);
          secondLocked();
          await first;
          await tx.unsafe(lock, [x]);
        }),
      ]);
      const after = await deadlocksAfterClosing(srv.url, appName, [one, two]);

      const codes = results.map((r) => r.status === "rejected" ? r.reason?.code : "ok");
      console.log(
        `  control: outcomes ${JSON.stringify(codes)}, deadlocks before ${before}, ` +
          `after ${after}, delta ${after - before}`,
      );
      assert.deepEqual(codes.toSorted(), ["40P01", "ok"], "one transaction is the victim");
      assert.ok(after - before >= 1, "the deadlock counter moved");
    });
    await target.close();
  },
);
