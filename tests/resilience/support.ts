import type postgres from "postgres";
import { pgClient } from "../../local/postgres.ts";
import type { Query } from "../../local/sql_db.ts";

/** The server URL with an application_name, so a pool's backends can be told apart in
 * pg_stat_activity (postgres.js passes unknown URL parameters on as startup parameters). */
export function withAppName(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set("application_name", name);
  return u.toString();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** pg_stat_database.deadlocks for the URL's database, read on a fresh connection with a
 * cleared stats snapshot. */
export async function readDeadlocks(url: string): Promise<number> {
  const sql = pgClient(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_stat_clear_snapshot()`;
    const [row] = await sql<{ deadlocks: string }[]>`
      select deadlocks::text as deadlocks from pg_stat_database where datname = current_database()`;
    return Number(row.deadlocks);
  } finally {
    await sql.end();
  }
}

/** Waits until no backend with this application_name is left. A backend flushes its pending
 * statistics (deadlocks included) when it exits, so once they are gone, and after a short
 * settle for the exit hooks that run after the pg_stat_activity entry is dropped, the
 * counter is final for them. */
export async function waitForBackendsToExit(url: string, appName: string, timeoutMs = 15_000) {
  const sql = pgClient(url, { max: 1, onnotice: () => {} });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [{ n }] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where application_name = ${appName}`;
      if (n === 0) break;
      if (Date.now() > deadline) throw new Error(`${n} "${appName}" backends did not exit`);
      await sleep(100);
    }
    // Ask this session's own stats out too, for good measure, then let exits settle.
    await sql`select pg_stat_force_next_flush()`;
  } finally {
    await sql.end();
  }
  await sleep(1_000);
}

/** Closes the pools, waits for their backends to exit, and returns the database's deadlock
 * counter: the same read-out for the measured run and for the control that proves it can
 * see a deadlock. */
export async function deadlocksAfterClosing(
  url: string,
  appName: string,
  pools: postgres.Sql[],
): Promise<number> {
  await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
  await waitForBackendsToExit(url, appName);
  return await readDeadlocks(url);
}

/** A digest of one org's rows in every table: equal digests mean none of them was written. */
export async function orgDigest(owner: Query, orgId: string): Promise<string> {
  const parts: string[] = [];
  for (
    const [table, column] of [
      ["orgs", "id"],
      ["api_keys", "org_id"],
      ["companies", "org_id"],
      ["contacts", "org_id"],
    ]
  ) {
    const [row] = await owner<{ digest: string; n: number }>(
      `select md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest,
              count(*)::int as n
       from public.${table} t where t.${column} = $1`,
      [orgId],
    );
    parts.push(`${table}:${row.n}:${row.digest}`);
  }
  return parts.join(" ");
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its printed seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Integer in [min, max]. */
export const randomInt = (random: () => number, min: number, max: number) =>
  min + Math.floor(random() * (max - min + 1));

/** "p50 12ms, p95 40ms, max 55ms" for a list of milliseconds. */
export function latencySummary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const fmt = (v: number) => `${Math.round(v)}ms`;
  return `p50 ${fmt(at(0.5))}, p95 ${fmt(at(0.95))}, max ${fmt(sorted[sorted.length - 1])}`;
}

/** Everything a child process writes to one stream, read continuously so the pipe never
 * fills, with a way to wait for some text to appear. */
export function collectOutput(stream: ReadableStream<Uint8Array>) {
  let text = "";
  let ended = false;
  const done = (async () => {
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
    } catch { /* the child was killed */ }
    ended = true;
  })();
  return {
    get text() {
      return text;
    },
    done,
    /** Resolves true once `ready(text)` holds, false if the stream ends or time runs out. */
    async waitFor(ready: (text: string) => boolean, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (!ready(text)) {
        if (ended || Date.now() > deadline) return ready(text);
        await sleep(50);
      }
      return true;
    },
  };
}
