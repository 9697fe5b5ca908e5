/**
 * `deno task test`: the static checks (deno fmt --check, deno lint, deno check), and each database
 * target built once for the whole run, side by side; then every test file in parallel against
 * clones of them.
 *   - Postgres 15: a golden data directory (initdb, the Supabase roles, every migration and the
 *     seed through the real Supabase CLI), and one shared server on a copy of it; tests clone its
 *     migrated database (CREATE DATABASE ... TEMPLATE), and tests that stop a server start their
 *     own copy of the golden directory.
 *   - PGlite: migrated the same way once, archived; tests load the archive.
 * Both are cached under .cache/ (gitignored), keyed by the migrations, seed, roles and engine and
 * CLI versions, and reused by the next run while none of those changes: a run migrates only what
 * changed (the dev server shares the PGlite archive). The CLI still runs in every run, in the
 * tests that apply migrations themselves (pg_cron, the dev server's --data-dir).
 * Arguments are passed to `deno test` (e.g. a file or `--filter`).
 */
import { buildArchive, cachedArchive } from "../local/pglite.ts";
import { warmSupabaseCli } from "../local/supabase_cli.ts";
import { recordDurations, slowestFirst } from "./test_order.ts";
import {
  cachedGolden,
  cachedOrBuiltGolden,
  postgresUnavailableReason,
  startServerFrom,
} from "../local/postgres_server.ts";

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const work = await Deno.makeTempDir({ prefix: "gateway-test-run-" });
const env: Record<string, string> = { GATEWAY_TEST_RUN: "1" };
const JUNIT = `${work}/junit.xml`;
const cleanups: (() => Promise<void> | void)[] = [];

/** One static check, as its own process. */
async function staticCheck(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed:\n${text}`);
  console.error(`[test run] deno ${args.join(" ")}: ok (${elapsed()})`);
}
/** fmt and lint (quick) while the databases build; the type check of every file (tests included)
 * runs beside the tests, which therefore skip their own (`deno test --no-check`), and is judged
 * with them. */
const quickChecks = (async () => {
  await staticCheck(["fmt", "--check"]);
  await staticCheck(["lint"]);
})();
// Handled now, judged once everything has settled (below): an early failure must not end the
// run while a server is still starting.
quickChecks.catch(() => {});

const pgSkip = postgresUnavailableReason();
const pgliteCached = await cachedArchive();
const goldenCached = pgSkip ? null : await cachedGolden();
// Fetched once before two builds would each ask npx for it at the same time.
if ((!pgSkip && !goldenCached) || !pgliteCached) await warmSupabaseCli();

const postgresReady = pgSkip ? Promise.resolve() : (async () => {
  const golden = goldenCached ?? await cachedOrBuiltGolden();
  const server = await startServerFrom(golden);
  cleanups.push(() => server.destroy());
  env.GATEWAY_TEST_PG_GOLDEN = golden;
  env.GATEWAY_TEST_PG_URL = server.url;
  console.error(`[test run] Postgres 15 migrated and serving (${elapsed()})`);
})();
postgresReady.catch(() => {});
const pgliteReady = (async () => {
  // The dev server's cached archive (built now if the migrations changed): the tests that start
  // `deno task dev` then find it warm instead of each migrating its own.
  const path = `${work}/pglite.tar`;
  await Deno.writeFile(path, pgliteCached ?? await buildArchive());
  env.GATEWAY_TEST_PGLITE_DUMP = path;
  console.error(`[test run] PGlite migrated and archived (${elapsed()})`);
})();
pgliteReady.catch(() => {});

if (pgSkip) {
  console.error(`\n!!! Real-Postgres tests are IGNORED: ${pgSkip}. Only PGlite runs. !!!\n`);
}
if (!(Deno.env.get("SUPABASE_URL") && Deno.env.get("SUPABASE_DB_URL"))) {
  console.error(
    "\n!!! Suites against a real Supabase stack are IGNORED: SUPABASE_URL and SUPABASE_DB_URL " +
      "are not set (PostgREST cannot run on this machine). The supabase adapter is covered by " +
      "tests/contract. !!!\n",
  );
}

let code = 1;
try {
  // Settled, not raced: a failed check must not leave a half-built server behind.
  const prepared = await Promise.allSettled([quickChecks, postgresReady, pgliteReady]);
  const failures = prepared.filter((r) => r.status === "rejected");
  for (const failure of failures) {
    console.error(`[test run] ${failure.reason?.message ?? failure.reason}`);
  }
  if (failures.length === 0) {
    const typeCheck = staticCheck(["check"]);
    typeCheck.catch(() => {});
    const args = Deno.args.length ? Deno.args : await slowestFirst(() => true);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "--no-check", "--parallel", `--junit-path=${JUNIT}`, ...args],
      // Most files spend their time waiting on servers and child processes, not on a core: twice
      // as many at once as there are cores finishes sooner (DENO_JOBS, when set, decides).
      env: {
        DENO_JOBS: Deno.env.get("DENO_JOBS") ?? String(2 * navigator.hardwareConcurrency),
        ...env,
      },
      stdin: "null",
    }).spawn();
    // Ctrl-C reaches the child too (same process group); clean up after it either way.
    code = (await child.status).code;
    if (Deno.args.length === 0) await recordDurations(JUNIT);
    try {
      await typeCheck;
    } catch (err) {
      console.error(`[test run] ${(err as Error).message}`);
      code = 1;
    }
  }
  console.error(`[test run] done in ${elapsed()}`);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
Deno.exit(code);
