/** The one table: every figure as measured, its baseline from the same run, the ratio, and the
 * target it is held to. */
import { type ColdStarts, median, MODES } from "./cold_start.ts";
import { type HotOrg, type OneAndSpread, oneOverSpread } from "./hot_org.ts";
import type { LoadResult } from "./load.ts";
import { IDEMPOTENCY_BATCH, type Measurements } from "./measure.ts";
import type { DispatchThroughput } from "./webhook_dispatch.ts";
import type { PageCosts } from "./pages.ts";
import type { DeliveryLatency } from "./webhook_latency.ts";
import type { WebhookThroughput } from "./webhook_throughput.ts";
import { TARGET_BATCH } from "./sizes.ts";

export interface Results {
  loads: Measurements;
  cold: ColdStarts;
  smallContacts: number;
  bigContacts: number;
  hot?: HotOrg;
  webhooks?: {
    throughput: WebhookThroughput[];
    latency: DeliveryLatency;
    /** Absent from runs before the dispatcher's pool. */
    dispatch?: DispatchThroughput;
  };
  pages?: PageCosts;
}

export interface Row {
  /** Stable key, for comparing runs (the `before` column). */
  id: string;
  figure: string;
  measured: string;
  baseline: string;
  ratio: number;
  /** The same figure for the code before the change, measured in the same run (the hot-org
   * rows); shown in the "ratio before" column, in place of an earlier run's. */
  ratioBefore?: number;
  /** Shown as is, e.g. "≥ 0.7". */
  target?: string;
  met?: boolean;
}

const n0 = (x: number) => Math.round(x).toLocaleString("en-US");
const n2 = (x: number) => x.toFixed(2);
const ms = (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`;
const rate = (r: LoadResult, unit: string) =>
  `${n0(r.perSecond)} ${unit}/s (p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)})`;

export function buildRows(res: Results, { only }: { only?: "idempotency" } = {}): Row[] {
  const { loads, cold } = res;
  const rows: Row[] = [];
  if (only === "idempotency") return idempotencyRows(loads);
  const sizes = Object.keys(loads.floor).map(Number).sort((a, b) => a - b);
  const target = (id: string, cond: boolean) => id.endsWith(`:${TARGET_BATCH}`) ? cond : undefined;

  for (const b of sizes) {
    const f = loads.floor[b], l = loads.leastSql[b];
    rows.push({
      id: `floor:${b}`,
      figure: `1. floor, batch ${b}: link function (pgbench) vs least SQL`,
      measured: rate(f, "tx"),
      baseline: `${rate(l, "tx")}${l.retried ? `, ${l.retried} deadlocks retried` : ""}`,
      ratio: f.perSecond / l.perSecond,
    });
  }
  for (const b of sizes) {
    const g = loads.gateway[b], f = loads.floor[b];
    const id = `gateway:${b}`;
    rows.push({
      id,
      figure: `2. gateway over HTTP (wrk), batch ${b}, vs floor`,
      measured: `${rate(g, "req")}, ${g.errors} errors` +
        (g.warmupErrors ? ` (and ${g.warmupErrors} in warm-ups)` : ""),
      baseline: `floor ${n0(f.perSecond)} tx/s`,
      ratio: g.perSecond / f.perSecond,
      target: b === TARGET_BATCH ? "≥ 0.7, 0 errors" : "0 errors",
      met: (target(id, g.perSecond / f.perSecond >= 0.7) ?? true) && g.errors === 0,
    });
  }
  for (const b of sizes) {
    const g = loads.gateway[b];
    rows.push({
      id: `calls:${b}`,
      figure: `3. database calls per request (xact_commit), batch ${b}`,
      measured: n2(g.callsPerRequest),
      baseline: `floor ${n2(loads.floor[b].callsPerRequest)}`,
      ratio: g.callsPerRequest / loads.floor[b].callsPerRequest,
      target: "1",
      met: Math.round(g.callsPerRequest * 10) / 10 === 1,
    });
  }
  for (const b of sizes) {
    const g = loads.gateway[b];
    const id = `cpu:${b}`;
    rows.push({
      id,
      figure: `3. CPU per request, batch ${b}: gateway vs Postgres`,
      measured: `gateway ${ms(g.gatewayCpuMs)}`,
      baseline: `Postgres ${ms(g.pgCpuMs)} (floor: ${ms(loads.floor[b].pgCpuMs)})`,
      ratio: g.gatewayCpuMs / g.pgCpuMs,
      target: b === TARGET_BATCH ? "≤ 0.3" : undefined,
      met: target(id, g.gatewayCpuMs / g.pgCpuMs <= 0.3),
    });
  }
  rows.push(...idempotencyRows(loads));
  const big = Math.max(...sizes);
  const links = (r: LoadResult, size: number) => r.perSecond * size;
  rows.push({
    id: "naive:gateway",
    figure: `4. links/s: gateway (batch ${big}) vs naive one-UPDATE-per-contact client`,
    measured: `${n0(links(loads.gateway[big], big))} links/s`,
    baseline: `naive ${n0(loads.naive.perSecond)} links/s (p50 ${ms(loads.naive.p50Ms)})`,
    ratio: links(loads.gateway[big], big) / loads.naive.perSecond,
  });
  rows.push({
    id: "naive:http",
    figure: `4. links/s: gateway (batch ${big}) vs the same links one per HTTP request (batch 1)`,
    measured: `${n0(links(loads.gateway[big], big))} links/s`,
    baseline: `${n0(loads.gateway[1]?.perSecond ?? NaN)} links/s`,
    ratio: links(loads.gateway[big], big) / (loads.gateway[1]?.perSecond ?? NaN),
    // The issue's naive client: single-contact updates, one transaction each, by a client of the
    // API without the batch endpoint. (Against raw SQL, the row above, see docs/benchmarks.md.)
    target: "≥ 20",
    met: links(loads.gateway[big], big) / (loads.gateway[1]?.perSecond ?? NaN) >= 20,
  });
  rows.push({
    id: "naive:floor",
    figure: `4. links/s: floor (batch ${big}) vs naive`,
    measured: `${n0(links(loads.floor[big], big))} links/s`,
    baseline: `naive ${n0(loads.naive.perSecond)} links/s`,
    ratio: links(loads.floor[big], big) / loads.naive.perSecond,
  });
  rows.push({
    id: "scaling",
    figure: `5. floor at ${n0(res.bigContacts)} contacts vs ${n0(res.smallContacts)}, batch ${big}`,
    measured: rate(loads.bigFloor, "tx"),
    baseline: rate(loads.smallFloor, "tx"),
    ratio: loads.bigFloor.perSecond / loads.smallFloor.perSecond,
    target: "≥ 0.8",
    met: loads.bigFloor.perSecond / loads.smallFloor.perSecond >= 0.8,
  });
  if (res.hot) {
    const pair = (r: OneAndSpread) =>
      `one org ${n0(r.one.perSecond)}, spread ${n0(r.spread.perSecond)} tx/s ` +
      `(${n2(oneOverSpread(r))})`;
    for (const [b, h] of Object.entries(res.hot.bySize)) {
      const penalty = oneOverSpread(h.fn) / oneOverSpread(h.least);
      rows.push({
        id: `hot:${b}`,
        figure: `6. hot org, batch ${b}: one org vs spread over ${res.hot.orgs}, ` +
          "link function over least SQL (fsync on)",
        measured: `function ${pair(h.fn)}; before: ${pair(h.before)}`,
        baseline: `least SQL ${pair(h.least)}`,
        ratio: penalty,
        ratioBefore: oneOverSpread(h.before) / oneOverSpread(h.least),
        target: "≥ 0.8",
        met: penalty >= 0.8,
      });
    }
  }
  rows.push(...coldRows(cold));
  rows.push({
    id: "memory",
    figure: "8. gateway peak RSS under load (VmHWM), vs the 128 MB budget",
    measured: `${loads.gatewayPeakRssMb.toFixed(0)} MB`,
    baseline: "128 MB",
    ratio: loads.gatewayPeakRssMb / 128,
    target: "≤ 128 MB",
    met: loads.gatewayPeakRssMb <= 128,
  });
  if (res.webhooks) rows.push(...webhookRows(res.webhooks));
  if (res.pages) rows.push(...pageRows(res.pages));
  return rows;
}

/** A page's cost at any depth: the last page against one at the start, by cursor; a whole walk
 * by cursor against by page number. */
export function pageRows(p: PageCosts): Row[] {
  const depth = p.endMs / p.startMs;
  const walk = p.pageWalk.ms / p.cursorWalk.ms;
  const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
  return [{
    id: "pages:depth",
    figure: `10. list, one company of ${n0(p.contacts)} contacts, ${p.perPage} a page: the last ` +
      `page by cursor vs the page after the first (median of ${p.repeats} calls each)`,
    measured: ms(p.endMs),
    baseline: ms(p.startMs),
    ratio: depth,
    target: "≤ 1.5",
    met: depth <= 1.5,
  }, {
    id: "pages:walk",
    figure: `10. list, that whole company (${n0(p.pageWalk.calls)} pages): walked by page ` +
      "number vs by cursor",
    measured: `by page ${s(p.pageWalk.ms)} (${ms(p.pageWalk.ms / p.pageWalk.calls)} a page)`,
    baseline: `by cursor ${s(p.cursorWalk.ms)} (${
      ms(p.cursorWalk.ms / p.cursorWalk.calls)
    } a page)`,
    ratio: walk,
    target: "≥ 10",
    met: walk >= 10,
  }];
}

/** With an Idempotency-Key on every request, against the same load without. */
function idempotencyRows(loads: Measurements): Row[] {
  if (!loads.idempotent) return [];
  const { batch, load: k, without: g } = loads.idempotent;
  const ratio = k.perSecond / g.perSecond;
  return [{
    id: `idempotency:${batch}`,
    figure: `2. gateway over HTTP (wrk), batch ${batch}, each request with its own ` +
      "Idempotency-Key (stored, encrypted), vs without",
    measured: `${rate(k, "req")}, ${n2(k.callsPerRequest)} calls per request, ${k.errors} ` +
      `errors; CPU per request: gateway ${ms(k.gatewayCpuMs)}, Postgres ${ms(k.pgCpuMs)}`,
    baseline: `without: ${rate(g, "req")}; CPU: gateway ${ms(g.gatewayCpuMs)}, Postgres ` +
      ms(g.pgCpuMs),
    ratio,
    target: batch === IDEMPOTENCY_BATCH ? "≥ 0.9, 0 errors" : "0 errors",
    met: (batch === IDEMPOTENCY_BATCH ? ratio >= 0.9 : true) && k.errors === 0,
  }];
}

/** The table as Markdown; `before` (rows of an earlier run) adds its ratios as a column. */
export function markdownTable(rows: Row[], before?: Row[]): string {
  const old = new Map(before?.map((r) => [r.id, r]) ?? []);
  const head = ["figure", "measured", "baseline (same run)", "ratio"];
  const withBefore = before !== undefined || rows.some((r) => r.ratioBefore !== undefined);
  if (withBefore) head.push("ratio before");
  head.push("target", "");
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`];
  for (const r of rows) {
    const cells = [r.figure, r.measured, r.baseline, n2(r.ratio)];
    const earlier = r.ratioBefore ?? old.get(r.id)?.ratio;
    if (withBefore) cells.push(earlier === undefined ? "" : n2(earlier));
    cells.push(r.target ?? "", r.met === undefined ? "" : r.met ? "met" : "**missed**");
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Cold start, each mode: spawn to the first answer (targets: at most 2.0x, goal 1.5x) and to the
 * first link answered from the database; memory after the first answer (at most 1.2x); and the
 * JavaScript evaluated before each. */
function coldRows(cold: ColdStarts): Row[] {
  const rows: Row[] = [];
  for (const mode of MODES) {
    const answer = cold.times[mode]["first answer"];
    const link = cold.times[mode]["first link"];
    // The code before the cold-start work, spawned in the same rounds (when it was).
    const before = (s: { before?: { ms: number[]; rssMb: number[] } }, key: "ms" | "rssMb") =>
      s.before ? median(s.before[key]) : undefined;
    const was = (x: number | undefined, unit: (x: number) => string) =>
      x === undefined ? "" : `; before: ${unit(x)}`;
    const mb = (x: number) => `${x.toFixed(1)} MB`;
    const ratio = median(answer.gateway.ms) / median(answer.bare.ms);
    const answerBefore = before(answer, "ms");
    rows.push({
      // The run mode's first answer is the figure earlier runs measured under this id.
      id: mode === "run" ? "cold:start" : `cold:start:${mode}`,
      figure: `7. cold start (${mode}) to the first answer, a keyless 401 (median of ` +
        `${cold.spawns} spawns)`,
      measured: `gateway ${ms(median(answer.gateway.ms))}${was(answerBefore, ms)}`,
      baseline: `bare Deno + Hono ${ms(median(answer.bare.ms))}`,
      ratio,
      ratioBefore: answerBefore && answerBefore / median(answer.bare.ms),
      target: "≤ 2.0",
      met: ratio <= 2.0,
    });
    const linkRatio = median(link.gateway.ms) / median(link.bare.ms);
    const linkBefore = before(link, "ms");
    rows.push({
      id: `cold:link:${mode}`,
      figure: `7. cold start (${mode}) to the first link answered from the database`,
      measured: `gateway ${ms(median(link.gateway.ms))}${was(linkBefore, ms)}`,
      baseline: `bare Hono + one database call ${ms(median(link.bare.ms))}`,
      ratio: linkRatio,
      ratioBefore: linkBefore && linkBefore / median(link.bare.ms),
    });
    const rss = median(answer.gateway.rssMb) / median(answer.bare.rssMb);
    const rssBefore = before(answer, "rssMb");
    rows.push({
      id: mode === "run" ? "cold:rss" : `cold:rss:${mode}`,
      figure: `7. resident memory (${mode}) after the first answer`,
      measured: `${mb(median(answer.gateway.rssMb))}${was(rssBefore, mb)}`,
      baseline: mb(median(answer.bare.rssMb)),
      ratio: rss,
      ratioBefore: rssBefore && rssBefore / median(answer.bare.rssMb),
      target: "≤ 1.2",
      met: rss <= 1.2,
    });
  }
  for (const request of ["first answer", "first link"] as const) {
    const { gateway, bare } = cold.evaluated[request];
    const packages = Object.entries(gateway.byPackage).sort(([, a], [, b]) => b - a)
      .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KB`).join(", ");
    rows.push({
      id: `cold:evaluated:${request === "first answer" ? "answer" : "link"}`,
      figure: `7. JavaScript evaluated before the ${request} (${packages})`,
      measured: `${(gateway.bytes / 1024).toFixed(0)} KB in ${gateway.modules} modules`,
      baseline: `${(bare.bytes / 1024).toFixed(0)} KB in ${bare.modules} modules`,
      ratio: gateway.bytes / bare.bytes,
    });
  }
  rows.push({
    id: "cold:bundle",
    figure: "7. `deno bundle --code-splitting` output, all chunks (the gateway's entry chunk)",
    measured: `${(cold.bundleBytes.gateway / 1024).toFixed(0)} KB ` +
      `(${(cold.bundleBytes.gatewayEntry / 1024).toFixed(0)} KB)`,
    baseline: `${(cold.bundleBytes.bare / 1024).toFixed(0)} KB`,
    ratio: cold.bundleBytes.gateway / cold.bundleBytes.bare,
  });
  return rows;
}

/** What webhooks cost a link, and how long a delivery takes in the dev server. */
function webhookRows(
  { throughput, latency: l, dispatch: d }: NonNullable<Results["webhooks"]>,
): Row[] {
  const rows: Row[] = throughput.map((t) => {
    const ratio = t.subscribed.perSecond / t.none.perSecond;
    // The target is held where nearly every link writes its event: the outbox's whole cost.
    const held = t.workload === "changing";
    return {
      id: `webhooks:throughput:${t.workload}`,
      figure: `9. webhooks: link function (pgbench), batch ${t.batch}, ` +
        (held ? "each batch to a random company of its org" : "the bench's batches") +
        ", every org with one subscribed endpoint vs none",
      measured: `${rate(t.subscribed, "tx")}, ${n2(t.eventsPerLink)} events per link`,
      baseline: `no endpoint: ${rate(t.none, "tx")}`,
      ratio,
      ...(held ? { target: "≥ 0.9", met: ratio >= 0.9 } : {}),
    };
  });
  rows.push({
    id: "webhooks:latency",
    figure: `9. webhook delivery in the dev server, a link's 200 to the receiver (${l.events} ` +
      "links), p99 vs the dispatcher's period",
    measured: `p50 ${ms(l.p50Ms)}, p99 ${ms(l.p99Ms)}, max ${ms(l.maxMs)}`,
    baseline: `a round every ${n0(l.periodMs)} ms`,
    ratio: l.p99Ms / l.periodMs,
  });
  if (d) {
    const ratio = d.oneStalled / d.noneStalled;
    rows.push({
      id: "webhooks:dispatch:stalled",
      figure: `9. webhook dispatch (the pool, in process), ${d.deliveries} deliveries to 10 ` +
        "endpoints, beside another org's endpoint that never answers vs none",
      measured: `one stalled: ${n0(d.oneStalled)} deliveries/s`,
      baseline: `none stalled: ${n0(d.noneStalled)} deliveries/s`,
      ratio,
      target: "≥ 0.8",
      met: ratio >= 0.8,
    });
  }
  return rows;
}
