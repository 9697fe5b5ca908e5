/** HTTP load with wrk: a Lua script that rotates through pre-formatted requests (each batch with
 * its own org's key and company), counts every answer other than 200 as an error, and prints
 * wrk's own latency percentiles as one JSON line. */

export interface WrkRequest {
  path: string;
  key: string;
  body: string;
}

const MARK = "BENCH-WRK ";

/** What wrk's done() prints (times in microseconds). */
export interface WrkSummary {
  requests: number;
  duration_us: number;
  /** Answers other than 200, by status. */
  non200: number;
  statuses: Record<string, number>;
  socket_errors: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
}

const lua = (s: string) => JSON.stringify(s); // JSON string syntax is valid Lua for our ASCII

/** The script: the requests inline, pre-formatted per thread at init; each thread starts at its
 * own offset so the connections do not send the same batch at once. With `idempotencyKeys` (a
 * prefix unique to the run) every request carries an Idempotency-Key of its own, so each one is a
 * first request that does the work and stores its answer, never a replay. */
export function wrkScript(requests: WrkRequest[], idempotencyKeys?: string): string {
  const rows = requests.map((r) => `{${lua(r.path)},${lua(r.key)},${lua(r.body)}}`).join(",\n");
  return `local rows = {
${rows}
}
-- Globals, not locals: done() reads each thread's through thread:get().
requests, i, errors, statuses = {}, 0, 0, {}
local threads = {}
function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end
-- With keys, each request is cut where its headers end, so that a key is put in by joining three
-- strings (wrk.format on every request cost wrk, on the same cores, more than the key's header).
heads, tails = {}, {}
function init(args)
  for k, r in ipairs(rows) do
    requests[k] = wrk.format("POST", r[1], {
      ["Authorization"] = "Bearer " .. r[2],
      ["Content-Type"] = "application/json",
    }, r[3])
    local cut = requests[k]:find("\\r\\n\\r\\n", 1, true)
    heads[k], tails[k] = requests[k]:sub(1, cut + 1), requests[k]:sub(cut + 2)
  end
  i = offset % #requests
end
local keys = ${idempotencyKeys === undefined ? "nil" : lua(idempotencyKeys)}
local sent = 0
function request()
  i = i % #requests + 1
  if keys == nil then
    return requests[i]
  end
  sent = sent + 1
  return heads[i] .. "Idempotency-Key: " .. keys .. "-" .. offset .. "-" .. sent .. "\\r\\n" .. tails[i]
end
function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end
function done(summary, latency, requests)
  local errs, codes = 0, {}
  for _, t in ipairs(threads) do
    errs = errs + t:get("errors")
    for code, n in pairs(t:get("statuses")) do codes[#codes + 1] = '"' .. code .. '":' .. n end
  end
  local e = summary.errors
  io.write(string.format(
    '${MARK}{"requests":%d,"duration_us":%d,"non200":%d,"statuses":{%s},' ..
    '"socket_errors":%d,"p50_us":%d,"p99_us":%d,"mean_us":%f}\\n',
    summary.requests, summary.duration, errs, table.concat(codes, ","),
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    latency.mean))
end
`;
}

export interface WrkOptions {
  base: string;
  script: string;
  connections: number;
  seconds: number;
  threads?: number;
}

/** Runs wrk to the end. */
export async function runWrk(opts: WrkOptions): Promise<WrkSummary> {
  const dir = await Deno.makeTempDir({ prefix: "bench-wrk-" });
  try {
    await Deno.writeTextFile(`${dir}/load.lua`, opts.script);
    const out = await new Deno.Command("wrk", {
      args: [
        "-t",
        String(opts.threads ?? 1),
        "-c",
        String(opts.connections),
        "-d",
        `${opts.seconds}s`,
        "--timeout",
        "10s",
        "-s",
        `${dir}/load.lua`,
        opts.base,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const line = text.split("\n").find((l) => l.startsWith(MARK));
    if (!out.success || !line) throw new Error(`wrk failed (exit ${out.code}):\n${text}`);
    return JSON.parse(line.slice(MARK.length)) as WrkSummary;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
