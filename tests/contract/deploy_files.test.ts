// `supabase functions deploy --use-api` (bundling server-side, without Docker) uploads the entry
// point, the function's deno.json and the files it finds by reading each uploaded source with one
// pattern (supabase/cli, internal/functions/deploy/upload.go: `import ... from "x"`, `export ...
// from "x"` and `import("x")`, relative paths only). A module the pattern cannot see (an import
// with attributes, say) would be missing from the deployed function. This test walks the sources
// the same way and holds the result to the module graph Deno itself builds.
import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname;
const FUNCTION_DIR = "supabase/functions/api-gateway/";

/** The CLI's pattern, as in upload.go. */
const IMPORT_PATH =
  /(?:import|export)\s+(?:{[^{}]+}|.*?)\s*(?:from)?\s*['"](.*?)['"]|import\(\s*['"](.*?)['"]\)/gi;

async function uploadedByTheCli(entry: string): Promise<Set<string>> {
  const imports: Record<string, string> = JSON.parse(
    await Deno.readTextFile(`${REPO}${FUNCTION_DIR}deno.json`),
  ).imports;
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const current = queue.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const text = await Deno.readTextFile(`${REPO}${current}`);
    for (const m of text.matchAll(IMPORT_PATH)) {
      let mod = (m[1] || m[2] || "").trim();
      for (const [k, v] of Object.entries(imports)) {
        if (mod.startsWith(k)) mod = v + mod.slice(k.length);
      }
      if (!mod.startsWith("./") && !mod.startsWith("../")) continue;
      const dir = current.slice(0, current.lastIndexOf("/") + 1);
      const resolved = new URL(mod, `file:///${dir}`).pathname.slice(1);
      if (/\.[a-z]+$/.test(resolved)) queue.push(resolved);
    }
  }
  return seen;
}

async function localModulesOfTheGraph(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO,
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return new Set(
    info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file://"))
      .map((s) => decodeURIComponent(new URL(s).pathname).slice(REPO.length)),
  );
}

Deno.test("deploy: --use-api uploads every local module the function loads", async () => {
  const entry = `${FUNCTION_DIR}index.ts`;
  const graph = await localModulesOfTheGraph(entry);
  const uploaded = await uploadedByTheCli(entry);
  // The lazy modules (the OpenAPI document) are in the graph: Deno follows literal import()s.
  assert.ok(graph.has(`${FUNCTION_DIR}openapi.generated.ts`), [...graph].join("\n"));
  const missing = [...graph].filter((m) => !uploaded.has(m));
  assert.deepEqual(missing, [], "modules the CLI would not upload");
  assert.ok([...uploaded].every((m) => m.startsWith(FUNCTION_DIR)), "all inside the function");
});
