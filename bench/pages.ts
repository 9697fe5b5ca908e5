/** A page's cost at any depth (issue 24): one company with many linked contacts, in a database of
 * its own, its list function called as the gateway calls it (role service_role, one call per
 * page, 100 a page). A page by cursor near the start against the last page by cursor, and a
 * whole walk of the company by cursor against the same walk by page number (which counts the
 * company's contacts and skips the rows before its page on every call). */
import { createHash } from "node:crypto";
import type postgres from "postgres";
import { pgClient } from "../local/postgres.ts";
import { type BenchDb, PAGES_DB } from "./database.ts";
import { benchKey } from "./dataset.ts";

export interface PageCosts {
  contacts: number;
  perPage: number;
  /** Medians of `repeats` calls, alternated: the page after the first, and the last page, both
   * by cursor. */
  repeats: number;
  startMs: number;
  endMs: number;
  /** Whole walks: by cursor (the first page by number, with its total, then cursors), the mean
   * of one before and one after the walk by page. */
  cursorWalk: { ms: number; calls: number };
  pageWalk: { ms: number; calls: number };
  /** The list statement's plan on a cursor deep in the company, after the walks (auto_explain). */
  plan: string[];
}

const ORG = "0b000000-0000-4000-8000-0000000000a1";
const COMPANY = "0b000000-0000-4000-8000-0000000000a2";
const KEY = benchKey(1_000_001);
const PER_PAGE = 100;
const UNTHROTTLED = 2_000_000_000;

type Position = { created_at: string; id: string };
type Listed = {
  outcome: string;
  data: { contacts: Position[]; total: number | null; has_more: boolean };
};

/** The company: `contacts` linked to it, inserted in random order (the heap is not in the list's
 * order), three to a created_at (the tie-break by id is walked too). */
async function load(sql: postgres.Sql, contacts: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe("set local session_replication_role = replica");
    await tx.unsafe(
      `insert into public.orgs (id, name, plan, rate_limit_per_day, rate_limit_per_minute)
       values ($1, 'bench pages org', 'org', ${UNTHROTTLED}, ${UNTHROTTLED})`,
      [ORG],
    );
    await tx.unsafe(
      "insert into public.companies (id, org_id, name) values ($1, $2, 'big company')",
      [COMPANY, ORG],
    );
    await tx.unsafe(
      `insert into public.api_keys (org_id, name, key_hash, prefix, permissions)
       values ($1, 'bench pages', encode(sha256(convert_to($2, 'UTF8')), 'hex'), left($2, 12),
               '{contacts:read}')`,
      [ORG, KEY],
    );
    await tx.unsafe(
      `insert into public.contacts (org_id, company_id, full_name, email, created_at)
       select $1, $2, 'contact ' || i, 'c' || i || '@pages.example',
              timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i / 3)
       from generate_series(1, ${contacts}) i
       order by random()`,
      [ORG, COMPANY],
    );
  });
  await sql.unsafe("vacuum (analyze) public.contacts, public.companies, public.api_keys");
  await sql.unsafe("checkpoint");
}

export async function measurePages(
  db: BenchDb,
  { contacts, repeats }: { contacts: number; repeats: number },
  say: (m: string) => void,
): Promise<PageCosts> {
  say(`pages: loading one company of ${contacts.toLocaleString("en-US")} contacts`);
  await load(db.control(PAGES_DB), contacts);
  const keyHash = createHash("sha256").update(KEY).digest("hex");
  const plans: string[] = [];
  const sql = pgClient(db.url(PAGES_DB), {
    max: 1,
    onnotice: (n) => {
      if (typeof n.message === "string" && n.message.includes("limit v_limit + 1")) {
        plans.push(n.message);
      }
    },
  });
  try {
    await sql.unsafe("set role service_role");
    const call = async (page: number, after: Position | null) => {
      const [{ r }] = await sql<{ r: Listed }[]>`
        select public.list_company_contacts(
          p_key_hash => ${keyHash}, p_company_id => ${COMPANY}::uuid, p_page => ${page},
          p_per_page => ${PER_PAGE}, p_after_created_at => ${after?.created_at ?? null}::text,
          p_after_id => ${after?.id ?? null}::uuid) as r`;
      if (r.outcome !== "ok") throw new Error(`list_company_contacts answered ${r.outcome}`);
      return r.data;
    };
    /** Every page, and the position each page ends at. */
    const walk = async (by: "cursor" | "page") => {
      const started = performance.now();
      const ends: Position[] = [];
      let rows = 0;
      for (let page = 1;; page++) {
        const data = await call(by === "page" ? page : 1, by === "page" ? null : ends.at(-1)!);
        rows += data.contacts.length;
        if (!data.has_more) break;
        ends.push(data.contacts.at(-1)!);
      }
      const ms = performance.now() - started;
      if (rows !== contacts) throw new Error(`a walk by ${by} read ${rows} of ${contacts} rows`);
      return { ms, calls: ends.length + 1, ends };
    };

    say("pages: a walk by cursor");
    const first = await walk("cursor");
    say(`pages: a walk by page number (${first.calls} calls, each counting and skipping)`);
    const byPage = await walk("page");
    say("pages: a walk by cursor again");
    const second = await walk("cursor");

    // The page after the first, against the last page (after the one before it).
    const [start, end] = [first.ends[0], first.ends.at(-1)!];
    const startMs: number[] = [], endMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      for (const [after, into] of [[start, startMs], [end, endMs]] as const) {
        const t = performance.now();
        await call(1, after);
        into.push(performance.now() - t);
      }
    }

    // The plan the function runs by now (its cached plan, after thousands of calls).
    await sql.unsafe(`
      reset role;
      load 'auto_explain';
      set auto_explain.log_min_duration = 0;
      set auto_explain.log_analyze = on;
      set auto_explain.log_buffers = on;
      set auto_explain.log_nested_statements = on;
      set client_min_messages = log;
      set role service_role`);
    await call(1, end);
    return {
      contacts,
      perPage: PER_PAGE,
      repeats,
      startMs: median(startMs),
      endMs: median(endMs),
      cursorWalk: { ms: (first.ms + second.ms) / 2, calls: first.calls },
      pageWalk: { ms: byPage.ms, calls: byPage.calls },
      plan: plans.slice(-1),
    };
  } finally {
    await sql.end();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
