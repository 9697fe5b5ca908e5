/** The bench cannot rot: `deno task bench --quick` runs here (a small data set, a second per
 * load) and its output must be sane: no errors, one database call per request, every ratio a
 * finite positive number, the plans captured. Nothing about durations or targets is asserted:
 * the machine is shared, and the real run is `deno task bench`. */
import assert from "node:assert/strict";
import { QUICK } from "../../bench/sizes.ts";
import { postgresUnavailableReason } from "../../local/postgres_server.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const wrkMissing = !new Deno.Command("sh", { args: ["-c", "command -v wrk"], stdout: "null" })
  .outputSync().success;
const skip = postgresUnavailableReason() ?? (wrkMissing ? "wrk is not installed" : null);
if (skip) console.error(`\n!!! The bench smoke test is IGNORED: ${skip}. !!!\n`);

interface Load {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  callsPerRequest: number;
  pgCpuMs: number;
  gatewayCpuMs: number;
}

Deno.test({
  name: "deno task bench --quick: one call per request, no errors, finite ratios",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "bench/main.ts", "--quick", "--json", json],
      cwd: REPO,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const printed = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr) + printed);
    assert.match(printed, /^\| figure \| measured \|/m, "prints the table");

    const { rows, results, plans } = JSON.parse(await Deno.readTextFile(json));
    const loads = results.loads;
    const all: [string, Load][] = [
      ...Object.entries(loads.floor as Record<string, Load>).map(([b, l]) => [`floor ${b}`, l]),
      ...Object.entries(loads.leastSql as Record<string, Load>).map(([b, l]) => [`least ${b}`, l]),
      ...Object.entries(loads.gateway as Record<string, Load>).map(([b, l]) => [`gateway ${b}`, l]),
      ["naive", loads.naive],
      ["big floor", loads.bigFloor],
      ["small floor", loads.smallFloor],
      // The hot-org loads: the link function now and before, the least SQL; one org and spread.
      ...Object.entries(results.hot.bySize as Record<string, Record<string, Record<string, Load>>>)
        .flatMap(([b, byLoad]) =>
          Object.entries(byLoad).flatMap(([name, modes]) =>
            Object.entries(modes).map(([mode, l]) => [`hot ${b} ${name} ${mode}`, l])
          )
        ),
      // Webhooks: the link function with and without a subscribed endpoint.
      ...results.webhooks.throughput.flatMap((
        t: { workload: string; none: Load; subscribed: Load },
      ) => [
        [`webhooks ${t.workload} none`, t.none],
        [`webhooks ${t.workload} subscribed`, t.subscribed],
      ]),
    ] as [string, Load][];
    const latency = results.webhooks.latency;
    assert.equal(latency.events, QUICK.latencyEvents, "every link's delivery timed");
    assert.ok(latency.p50Ms > 0 && latency.p50Ms <= latency.p99Ms);
    for (const t of results.webhooks.throughput) {
      assert.ok(t.eventsPerLink > 0, `${t.workload}: the subscribed links wrote events`);
    }
    assert.deepEqual(Object.keys(results.hot.bySize), ["10", "100"]);
    assert.deepEqual(Object.keys(loads.gateway), QUICK.batchSizes.map(String));
    for (const [name, load] of all) {
      assert.equal(load.errors, 0, `${name}: errors`);
      assert.ok(load.requests > 0, `${name}: requests`);
      for (const field of ["perSecond", "p50Ms", "p99Ms", "pgCpuMs"] as const) {
        assert.ok(Number.isFinite(load[field]) && load[field] > 0, `${name}: ${field}`);
      }
      // One transaction per request, give or take the sessions' own start-up.
      assert.ok(load.callsPerRequest >= 0.99 && load.callsPerRequest < 1.5, `${name}: calls`);
    }
    for (const [name, load] of all.filter(([n]) => n.startsWith("gateway"))) {
      assert.ok(load.gatewayCpuMs > 0, `${name}: gateway CPU`);
    }
    for (const row of rows as { id: string; ratio: number }[]) {
      assert.ok(Number.isFinite(row.ratio) && row.ratio > 0, `${row.id}: ratio ${row.ratio}`);
    }
    // Every mode and first request measured, and the coverage of what each evaluated read.
    for (const mode of ["run", "no-code-cache", "bundle"]) {
      for (const request of ["first answer", "first link"]) {
        for (const side of ["gateway", "bare"]) {
          const spawns = results.cold.times[mode][request][side];
          assert.equal(spawns.ms.length, QUICK.spawns, `${mode} ${request} ${side}`);
          assert.ok(spawns.rssMb.every((mb: number) => mb > 0));
        }
      }
    }
    const evaluated = results.cold.evaluated;
    assert.ok(evaluated["first answer"].gateway.modules > 0);
    // A real link needs more than a refusal: zod and the PostgREST client load for it.
    assert.ok(evaluated["first link"].gateway.bytes > evaluated["first answer"].gateway.bytes);
    assert.ok(results.loads.gatewayPeakRssMb > 0);
    // The pages figures: every page read both ways, and a page by cursor read from the list's
    // index at its position (the plan the function runs after its walks: no sort, no offset).
    const pages = results.pages;
    assert.equal(pages.cursorWalk.calls, QUICK.pagesContacts / pages.perPage);
    assert.equal(pages.pageWalk.calls, QUICK.pagesContacts / pages.perPage);
    const pagePlan = pages.plan.join("\n");
    assert.match(
      pagePlan,
      /Index Scan using contacts_company_page_idx[^\n]*\n\s*Index Cond: .*ROW\(created_at, id\) > ROW/,
    );
    assert.doesNotMatch(pagePlan, /->\s+(Sort|Seq Scan|Bitmap)/);
    for (const plan of plans as { lines: string[] }[]) {
      assert.ok(plan.lines.some((l) => l.includes("public.contacts")), "plans of the function");
    }
  } finally {
    await Deno.remove(json);
  }
});
