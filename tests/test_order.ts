/** The order test files start in: the slowest of the last full run first (files start in the
 * order given, so a long one started last would finish alone), new files first of all. The
 * durations come from the JUnit report of the last full run, kept under .cache/. */
const DURATIONS = new URL("../.cache/test-durations.json", import.meta.url);

/** Every test file under tests/ that `keep` keeps, slowest first. */
export async function slowestFirst(keep: (path: string) => boolean): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".test.ts") && keep(path)) files.push(path);
    }
  };
  await walk("tests");
  let last: Record<string, number> = {};
  try {
    last = JSON.parse(await Deno.readTextFile(DURATIONS));
  } catch { /* first run */ }
  const cost = (f: string) => last[f] ?? Infinity;
  return [...files.sort()].sort((a, b) => cost(b) - cost(a));
}

/** Seconds per test file (the sum of its tests' times in Deno's JUnit report), for the next run. */
export async function recordDurations(junit: string): Promise<void> {
  const xml = await Deno.readTextFile(junit).catch(() => "");
  const durations: Record<string, number> = {};
  for (const m of xml.matchAll(/<testcase [^>]*?classname="(?:\.\/)?([^"]+)" time="([\d.]+)"/g)) {
    durations[m[1]] = (durations[m[1]] ?? 0) + Number(m[2]);
  }
  if (Object.keys(durations).length === 0) return;
  await Deno.mkdir(new URL(".", DURATIONS), { recursive: true });
  await Deno.writeTextFile(DURATIONS, JSON.stringify(durations, null, 2));
}
