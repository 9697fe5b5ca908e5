/**
 * `deno task bench [--quick] [--json <file>] [--before <file>]`: builds a throwaway Postgres 15,
 * loads the data, measures, prints one table and, at the default size, writes
 * docs/benchmarks.md, docs/benchmarks.svg and docs/benchmarks.json. Every figure is a ratio
 * against a baseline measured in the same run.
 *   --quick          a small, short run (the smoke test in `deno task test`); writes no docs
 *   --json <file>    also write the results (rows and raw measurements) there
 *   --before <file>  the results JSON of an earlier run: its ratios become a "before" column
 *   --only pages     only the pages figures (bench/pages.ts): printed, and at the default size
 *                    written into docs/benchmarks.md in place of the ones there
 *   --idempotency    only the Idempotency-Key pair (bench/measure.ts, measureIdempotency); prints
 *                    its row and writes nothing
 */
import { chartSvg } from "./chart.ts";
import { BEFORE_COMMIT, measureColdStarts } from "./cold_start.ts";
import { SMALL_DB, startBenchDb } from "./database.ts";
import { batches } from "./dataset.ts";
import { benchmarksMarkdown, PAGES_PLAN_LABEL, withPageFigures } from "./docs.ts";
import { explainLink } from "./explain.ts";
import { measureHotOrg } from "./hot_org.ts";
import { measureDeliveryLatency } from "./webhook_latency.ts";
import { measureDispatchThroughput } from "./webhook_dispatch.ts";
import { measureWebhookThroughput } from "./webhook_throughput.ts";
import { describeMachine } from "./machine.ts";
import { measureIdempotency, measureLoads } from "./measure.ts";
import { measurePages } from "./pages.ts";
import { buildRows, markdownTable, pageRows, type Results, type Row } from "./report.ts";
import { DEFAULT, QUICK } from "./sizes.ts";

const DOCS = new URL("../docs/", import.meta.url);
const args = [...Deno.args];
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag("--quick");
const size = quick ? QUICK : DEFAULT;
const before = option("--before");
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const say = (m: string) => console.error(`[bench ${elapsed().toFixed(1)}s] ${m}`);

if (flag("--idempotency")) {
  say("the Idempotency-Key pair only; starting Postgres 15 (migrated by the Supabase CLI)");
  const only = await startBenchDb();
  try {
    const idempotent = await measureIdempotency(only, size, say);
    const rows = buildRows({ loads: { idempotent } } as unknown as Results, {
      only: "idempotency",
    });
    console.log(markdownTable(rows));
  } finally {
    await only.destroy();
  }
  Deno.exit(0);
}

const only = option("--only");
if (only !== undefined && only !== "pages") {
  console.error(`--only ${only}: the one section that runs alone is "pages"`);
  Deno.exit(2);
}
const pagesSize = { contacts: size.pagesContacts, repeats: size.pagesRepeats };
if (only === "pages") await pagesOnly();

say(`${size.name} size; starting Postgres 15 (migrated by the Supabase CLI)`);
const db = await startBenchDb();
let results: Results;
let plans: { label: string; lines: string[] }[];
let postgresVersion: string;
try {
  const loads = await measureLoads(db, size, say);
  say("EXPLAIN of the link function's statements (auto_explain)");
  const biggest = Math.max(...size.batchSizes);
  const big = size.orgs * size.contactsPerOrg, small = size.smallOrgs * size.smallContactsPerOrg;
  plans = [
    {
      label: `${big.toLocaleString("en-US")} contacts`,
      lines: await explainLink(db.url(), biggest),
    },
    {
      label: `${small.toLocaleString("en-US")} contacts`,
      lines: await explainLink(db.url(SMALL_DB), biggest),
    },
  ];
  [{ version: postgresVersion }] = await db.control()<{ version: string }[]>`select version()`;
  say(`cold starts (${size.spawns} spawns each, 3 modes, 2 first requests)`);
  const [link] = await batches(db.control(), Math.min(...size.batchSizes), 1);
  const beforeCode = quick ? undefined : await beforeCheckout();
  const cold = await measureColdStarts(size.spawns, {
    url: db.url(),
    link: { key: link.key, companyId: link.company_id, contactIds: link.contact_ids },
  }, beforeCode?.dir).finally(() => beforeCode?.remove());
  const webhooks = {
    throughput: [
      await measureWebhookThroughput(db, size, size.webhookBatch, "batches", say),
      await measureWebhookThroughput(db, size, size.webhookBatch, "changing", say),
    ],
    latency: await measureDeliveryLatency(db, size.latencyEvents, 20, say),
    dispatch: await measureDispatchThroughput(db, size, say),
  };
  const pages = await measurePages(db, pagesSize, say);
  plans.push({ label: PAGES_PLAN_LABEL, lines: pages.plan });
  results = { loads, cold, smallContacts: small, bigContacts: big, webhooks, pages };
} finally {
  await db.destroy();
}
say("hot org: a server of its own, with Postgres's default durability");
results.hot = await measureHotOrg(size, say);

const rows = buildRows(results);
const previous = before
  ? JSON.parse(await Deno.readTextFile(before)) as { rows: Row[]; label?: string }
  : undefined;
console.log(markdownTable(rows, previous?.rows));
const json = JSON.stringify({ size: size.name, rows, results, plans: plans! }, null, 1);
const jsonPath = option("--json");
if (jsonPath) await Deno.writeTextFile(jsonPath, json);

if (!quick) {
  await Deno.mkdir(DOCS, { recursive: true });
  const biggest = Math.max(...size.batchSizes);
  await Deno.writeTextFile(
    new URL("benchmarks.svg", DOCS),
    chartSvg([
      { name: "floor: link function (pgbench)", color: "#4c78a8", bySize: results.loads.floor },
      { name: "gateway over HTTP (wrk)", color: "#f58518", bySize: results.loads.gateway },
      { name: "least SQL (pgbench)", color: "#9d9d9d", bySize: results.loads.leastSql },
    ], `link ${size.batchSizes.join(" / ")} contacts per request, ${size.clients} clients`),
  );
  await Deno.writeTextFile(new URL("benchmarks.json", DOCS), json);
  await Deno.writeTextFile(
    new URL("benchmarks.md", DOCS),
    benchmarksMarkdown({
      command: "npx --yes deno@2.9.6 task bench" + (before ? ` --before ${before}` : ""),
      machine: await describeMachine(postgresVersion!),
      size,
      rows,
      before: previous && { rows: previous.rows, label: previous.label ?? before! },
      seconds: elapsed(),
      chartFile: "benchmarks.svg",
      plans: plans!,
    }),
  );
  await formatDocs();
  say(`wrote docs/benchmarks.md, .svg, .json (batch ${biggest} is the one the targets name)`);
}
say("done");

/** Formatted as `deno fmt --check` (part of `deno task test`) expects them. */
async function formatDocs() {
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "-q", "docs/benchmarks.md", "docs/benchmarks.json", "docs/benchmarks.svg"],
    cwd: new URL("../", import.meta.url).pathname,
  }).output();
}

/** `--only pages`: the pages figures alone, on a server of their own; at the default size they
 * replace those in docs/benchmarks.md (the rest of it stays as the last full run wrote it). */
async function pagesOnly(): Promise<never> {
  say(`${size.name} size, pages only; starting Postgres 15 (migrated by the Supabase CLI)`);
  const db = await startBenchDb();
  const pages = await measurePages(db, pagesSize, say).finally(() => db.destroy());
  const rows = pageRows(pages);
  console.log(markdownTable(rows));
  console.log(pages.plan.join("\n"));
  if (!quick) {
    const file = new URL("benchmarks.md", DOCS);
    const command = "npx --yes deno@2.9.6 task bench --only pages";
    await Deno.writeTextFile(
      file,
      withPageFigures(await Deno.readTextFile(file), rows, pages.plan, command, elapsed()),
    );
    await formatDocs();
    say("wrote the pages figures into docs/benchmarks.md");
  }
  say("done");
  Deno.exit(0);
}

/** A checkout of the code before the cold-start work, for its figures beside today's (a git
 * worktree of this clone); none, said loudly, where git or the commit is missing. */
async function beforeCheckout(): Promise<{ dir: string; remove(): Promise<void> } | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "bench-before-" });
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args,
      cwd: new URL("../", import.meta.url).pathname,
      stdout: "null",
      stderr: "piped",
    }).output();
  try {
    const out = await git("worktree", "add", "--detach", dir, BEFORE_COMMIT);
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
  } catch (err) {
    say(`!!! no "before" cold-start figures: cannot check out ${BEFORE_COMMIT} (${err}) !!!`);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    return undefined;
  }
  say(`cold starts: ${BEFORE_COMMIT} checked out beside, for the "before" figures`);
  return {
    dir,
    async remove() {
      await git("worktree", "remove", "--force", dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
