// Tenancy in depth, the half pgTAP cannot see: the schemas PostgREST exposes are those of
// supabase/config.toml's [api] section, and `internal` (where the functions that trust an org id
// given as an argument live) is not among them.
import assert from "node:assert/strict";

const CONFIG = new URL("../../supabase/config.toml", import.meta.url);

Deno.test("security: PostgREST does not expose schema internal", async () => {
  const toml = await Deno.readTextFile(CONFIG);
  const api = toml.split(/^\[/m).find((section) => section.startsWith("api]"));
  assert.ok(api, "config.toml has an [api] section");
  const schemas = /^schemas\s*=\s*\[([^\]]*)\]/m.exec(api)?.[1];
  assert.ok(schemas !== undefined, "[api] names its schemas");
  const names = [...schemas.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  assert.ok(names.includes("public"));
  assert.ok(!names.includes("internal"), `exposed: ${names.join(", ")}`);
  const extra = /^extra_search_path\s*=\s*\[([^\]]*)\]/m.exec(api)?.[1] ?? "";
  assert.ok(!extra.includes('"internal"'), "internal is not on PostgREST's search_path either");
});
