/**
 * How long `deno task dev` takes from launch until its curl is printed, over several warm starts:
 *   npx --yes deno@2.9.6 run -A scripts/measure_dev_start.ts [runs=6] [checkout=this one]
 * Give another checkout (e.g. `git worktree add /tmp/old <commit>`) to compare with an older
 * version on the same machine; run each once before measuring, so that both are warm.
 */
const runs = Number(Deno.args[0] ?? 6);
const repo = Deno.args[1] ?? new URL("../", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const seconds: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev"],
    cwd: repo,
    env: { PORT: String(freePort()), DATABASE_URL: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (/^\s+-d '/m.test(text)) break;
  }
  const s = (performance.now() - started) / 1000;
  child.kill("SIGTERM");
  await child.status;
  if (!/^\s+-d '/m.test(text)) throw new Error(`no curl printed:\n${text}`);
  seconds.push(s);
  console.log(`start ${i + 1}: ${s.toFixed(2)} s`);
}
seconds.sort((a, b) => a - b);
const median = seconds.length % 2
  ? seconds[(seconds.length - 1) / 2]
  : (seconds[seconds.length / 2 - 1] + seconds[seconds.length / 2]) / 2;
console.log(
  `median ${median.toFixed(2)} s (min ${seconds[0].toFixed(2)}, max ${
    seconds.at(-1)!.toFixed(2)
  }) over ${runs} starts`,
);
