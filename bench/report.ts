/** The one table: every figure as measured, its baseline from the same run, the ratio, and the
 * target it is held to. */
import type { ColdStarts } from "./cold_start.ts";
import { type HotOrg, type OneAndSpread, oneOverSpread } from "./hot_org.ts";
import type { LoadResult } from "./load.ts";
import type { Measurements } from "./measure.ts";
import { TARGET_BATCH } from "./sizes.ts";

export interface Results {
  loads: Measurements;
  cold: ColdStarts;
  smallContacts: number;
  bigContacts: number;
  hot?: HotOrg;
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

export function buildRows(res: Results): Row[] {
  const { loads, cold } = res;
  const rows: Row[] = [];
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
  rows.push({
    id: "cold:start",
    figure: `7. cold start to first answer (median of ${cold.gateway.spawns.length} spawns)`,
    measured: `gateway ${ms(cold.gateway.medianMs)}`,
    baseline: `bare Deno + Hono ${ms(cold.bare.medianMs)}`,
    ratio: cold.gateway.medianMs / cold.bare.medianMs,
    target: "≤ 1.5",
    met: cold.gateway.medianMs / cold.bare.medianMs <= 1.5,
  });
  rows.push({
    id: "cold:graph",
    figure: "7. module graph (deno info, npm packages included)",
    measured: `${(cold.gateway.graphBytes / 1e6).toFixed(1)} MB`,
    baseline: `${(cold.bare.graphBytes / 1e6).toFixed(1)} MB`,
    ratio: cold.gateway.graphBytes / cold.bare.graphBytes,
  });
  rows.push({
    id: "cold:rss",
    figure: "7. resident memory after the first request",
    measured: `${cold.gateway.rssMb.toFixed(0)} MB`,
    baseline: `${cold.bare.rssMb.toFixed(0)} MB`,
    ratio: cold.gateway.rssMb / cold.bare.rssMb,
  });
  rows.push({
    id: "memory",
    figure: "8. gateway peak RSS under load (VmHWM), vs the 128 MB budget",
    measured: `${loads.gatewayPeakRssMb.toFixed(0)} MB`,
    baseline: "128 MB",
    ratio: loads.gatewayPeakRssMb / 128,
    target: "≤ 128 MB",
    met: loads.gatewayPeakRssMb <= 128,
  });
  return rows;
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
