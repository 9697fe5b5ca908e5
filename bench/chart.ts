/** docs/benchmarks.svg: throughput and latency (p50 bar, p99 whisker) by batch size, for the
 * floor (the link function under pgbench) and the gateway over HTTP. Plain SVG, no library. */
import type { LoadResult } from "./load.ts";

interface Series {
  name: string;
  color: string;
  bySize: Record<number, LoadResult>;
}

const W = 940, H = 370, PANEL_W = 370, PANEL_H = 240, TOP = 60, LEFT = [70, 550];

export function chartSvg(series: Series[], title: string): string {
  const sizes = Object.keys(series[0].bySize).map(Number).sort((a, b) => a - b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${
      esc(title)
    }</text>`,
  ];
  parts.push(panel(LEFT[0], "throughput (requests/s)", sizes, series, (r) => [r.perSecond]));
  parts.push(
    panel(LEFT[1], "latency (ms): p50 bar, p99 whisker", sizes, series, (r) => [r.p50Ms, r.p99Ms]),
  );
  // Legend.
  let x = LEFT[0];
  for (const s of series) {
    const y = H - 16;
    parts.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${s.color}"/>`);
    parts.push(`<text x="${x + 18}" y="${y}">${esc(s.name)}</text>`);
    x += 18 + s.name.length * 7 + 24;
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function panel(
  left: number,
  label: string,
  sizes: number[],
  series: Series[],
  values: (r: LoadResult) => number[],
): string {
  const max = Math.max(...series.flatMap((s) => sizes.flatMap((b) => values(s.bySize[b]))));
  const step = niceStep(max / 4);
  const top = Math.ceil(max / step) * step || 1;
  const y = (v: number) => TOP + PANEL_H - (v / top) * PANEL_H;
  const out: string[] = [
    `<text x="${left}" y="${TOP - 14}" font-weight="bold">${esc(label)}</text>`,
  ];
  for (let v = 0; v <= top + 1e-9; v += step) {
    out.push(`<line x1="${left}" x2="${left + PANEL_W}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  const groupW = PANEL_W / sizes.length, barW = (groupW * 0.7) / series.length;
  sizes.forEach((b, g) => {
    const gx = left + g * groupW + groupW * 0.15;
    series.forEach((s, i) => {
      const [main, whisker] = values(s.bySize[b]);
      const x = gx + i * barW;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(main).toFixed(1)}" width="${
          (barW - 2).toFixed(1)
        }" height="${(TOP + PANEL_H - y(main)).toFixed(1)}" fill="${s.color}"><title>${
          esc(s.name)
        }, batch ${b}: ${fmt(main)}${
          whisker === undefined ? "" : ` (p99 ${fmt(whisker)})`
        }</title></rect>`,
      );
      if (whisker === undefined) {
        // Throughput: the value over its bar (batch 100 is short next to batch 1).
        const cx = (x + (barW - 2) / 2).toFixed(1);
        out.push(
          `<text x="${cx}" y="${(y(main) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${
            fmt(main)
          }</text>`,
        );
      } else {
        const cx = (x + (barW - 2) / 2).toFixed(1);
        out.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(main).toFixed(1)}" y2="${
            y(whisker).toFixed(1)
          }" stroke="#333"/>`,
        );
        out.push(
          `<line x1="${(Number(cx) - 4).toFixed(1)}" x2="${(Number(cx) + 4).toFixed(1)}" y1="${
            y(whisker).toFixed(1)
          }" y2="${y(whisker).toFixed(1)}" stroke="#333"/>`,
        );
      }
    });
    out.push(
      `<text x="${(left + g * groupW + groupW / 2).toFixed(1)}" y="${
        TOP + PANEL_H + 16
      }" text-anchor="middle">batch ${b}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" x2="${left + PANEL_W}" y1="${TOP + PANEL_H}" y2="${
      TOP + PANEL_H
    }" stroke="#333"/>`,
  );
  return out.join("\n");
}

function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

const fmt = (v: number) => v >= 100 ? Math.round(v).toLocaleString("en-US") : String(+v.toFixed(2));
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
