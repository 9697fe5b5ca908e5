/**
 * `deno task test:quick [file ...]`: the inner loop. The in-process suites (the real app on a
 * real PGlite, migrated by the real Supabase CLI once and cached) and nothing else: no installs,
 * no fmt/lint/check, no Postgres server, no spawned dev servers or child processes. The full run,
 * `deno task test`, runs all of it and is what CI runs.
 * With files given, runs just those (PGlite only); with none, every test file but the ones that
 * need what the quick loop leaves out (SPAWNING below).
 */
import { buildArchive, cachedArchive } from "../local/pglite.ts";
import { slowestFirst } from "./test_order.ts";

/** Test files (or folders) that start servers, child processes or a Postgres of their own. */
const SPAWNING = [
  "tests/bench/",
  "tests/contract/deno_2_1.test.ts",
  "tests/contract/deploy_files.test.ts",
  "tests/database/",
  "tests/e2e/",
  "tests/local/",
  "tests/openapi/lint.test.ts",
  "tests/openapi/types.test.ts",
  "tests/resilience/connection_drop.test.ts",
  "tests/resilience/db_faults.test.ts",
];

const started = performance.now();
const work = await Deno.makeTempDir({ prefix: "gateway-quick-" });
let code = 1;
try {
  const dump = `${work}/pglite.tar`;
  await Deno.writeFile(dump, (await cachedArchive()) ?? await buildArchive());
  const files = Deno.args.length
    ? Deno.args
    : await slowestFirst((path) => !SPAWNING.some((s) => path.startsWith(s)));
  console.error(
    "[quick] PGlite only; no installs, static checks, Postgres or spawned servers " +
      "(`deno task test` runs everything).",
  );
  const child = new Deno.Command(Deno.execPath(), {
    // No type check either: `deno task test` does it (and fmt and lint).
    args: [
      "test",
      "--allow-all",
      "--no-check",
      "--parallel",
      ...files,
    ],
    env: {
      GATEWAY_TEST_RUN: "1",
      // Smaller counts where a suite's size is a knob (the property suite: 300 requests).
      GATEWAY_TEST_QUICK: "1",
      GATEWAY_TEST_TARGETS: "pglite",
      GATEWAY_TEST_PGLITE_DUMP: dump,
      DENO_JOBS: Deno.env.get("DENO_JOBS") ?? String(navigator.hardwareConcurrency),
    },
    stdin: "null",
  }).spawn();
  code = (await child.status).code;
  console.error(`[quick] done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
Deno.exit(code);
