/** The bench's throwaway Postgres 15: a copy of the test harness's migrated golden data directory
 * (initdb, the Supabase roles, every migration through the real Supabase CLI), started with the
 * settings below, and the statistics the figures are computed from. */
import type postgres from "postgres";
import { pgClient } from "../local/postgres.ts";
import { goldenDataDir, type PgServer, startServerFrom } from "../local/postgres_server.ts";
import { sleep } from "./load.ts";
import { treeCpuSeconds } from "./proc.ts";

/** Recorded in docs/benchmarks.md. Durability off (a throwaway server; the gateway and the
 * floor pay the same), autovacuum off so that runs are not disturbed: the bench vacuums between
 * runs itself. */
export const SERVER_SETTINGS: Record<string, string> = {
  shared_buffers: "512MB",
  autovacuum: "off",
  max_wal_size: "4GB",
  checkpoint_timeout: "30min",
  shared_preload_libraries: "pg_stat_statements",
  "pg_stat_statements.track": "top",
};

/** Where the scaling figure's small data set lives (a clone of the migrated database). */
export const SMALL_DB = "bench_small";
/** Where the pages figure's one big company lives (bench/pages.ts; a clone too). */
export const PAGES_DB = "bench_pages";

export interface BenchDb {
  server: PgServer;
  /** Superuser URL of a database of the server. */
  url(database?: string): string;
  /** A superuser session of a database (loading, vacuuming); settle ends it too. */
  control(database?: string): postgres.Sql;
  /** The postmaster's pid: Postgres's CPU is its process tree's. */
  postmasterPid(): number;
  postgresCpuSeconds(): number;
  /** Committed transactions in a database so far (flushed statistics only: see settle). */
  xactCommit(database?: string): Promise<number>;
  /** Waits until the database's sessions are idle, then ends them all (the bench's own
   * included: they reconnect when used), so that every transaction they committed is in the
   * statistics: a backend flushes its counters as it exits, and otherwise only every so often. */
  settle(database?: string): Promise<void>;
  destroy(): Promise<void>;
}

export const CONTROL_APP = "bench-control";
/** The bench reads statistics from a database of its own, so that its queries are not counted
 * in the measured database's transactions. */
const MONITOR_DB = "bench_monitor";

/** Postgres's default durability, as production runs it (the hot-org figures). */
export const DURABLE_SETTINGS: Record<string, string> = {
  fsync: "on",
  synchronous_commit: "on",
  full_page_writes: "on",
};

/** `settings` are added to SERVER_SETTINGS (and beat the harness's durability-off ones). */
export async function startBenchDb(settings: Record<string, string> = {}): Promise<BenchDb> {
  const server = await startServerFrom(await goldenDataDir(), {
    settings: { ...SERVER_SETTINGS, ...settings },
  });
  const base = new URL(server.url);
  const url = (database = "postgres") => {
    const u = new URL(base);
    u.pathname = `/${database}`;
    return u.toString();
  };
  const sessions = new Map<string, postgres.Sql>();
  const control = (database = "postgres") => {
    let sql = sessions.get(database);
    if (!sql) {
      sql = pgClient(url(database), {
        max: 1,
        onnotice: () => {},
        connection: { application_name: CONTROL_APP },
      });
      sessions.set(database, sql);
    }
    return sql;
  };
  const postmasterPid = () =>
    Number(Deno.readTextFileSync(`${server.dir}/postmaster.pid`).split("\n")[0]);

  // The scaling figure's small data set gets its own database, cloned before anything connects.
  await control("template1").unsafe(`create database ${SMALL_DB} template postgres`);
  await control("template1").unsafe(`create database ${PAGES_DB} template postgres`);
  await control("template1").unsafe(`create database ${MONITOR_DB} template template0`);
  await control().unsafe("create extension if not exists pg_stat_statements");
  const monitor = control(MONITOR_DB);

  return {
    server,
    url,
    control,
    postmasterPid,
    postgresCpuSeconds: () => treeCpuSeconds(postmasterPid()),
    async xactCommit(database = "postgres") {
      const [row] = await monitor<{ n: string }[]>`
        select xact_commit::text as n from pg_stat_database where datname = ${database}`;
      return Number(row.n);
    },
    async settle(database = "postgres") {
      const others = () =>
        monitor<{ busy: number; n: number }[]>`
        select count(*) filter (where state <> 'idle')::int as busy, count(*)::int as n
        from pg_stat_activity where datname = ${database} and backend_type = 'client backend'`;
      // Calls still in flight (a load generator stops without waiting for its last answers).
      for (let i = 0; i < 400 && (await others())[0].busy > 0; i++) await sleep(10);
      await monitor`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = ${database} and backend_type = 'client backend'`;
      for (let i = 0; i < 400 && (await others())[0].n > 0; i++) await sleep(10);
      await monitor`select pg_stat_clear_snapshot()`;
    },
    async destroy() {
      await Promise.all([...sessions.values()].map((s) => s.end({ timeout: 1 })));
      await server.destroy();
    },
  };
}
