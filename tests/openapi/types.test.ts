import assert from "node:assert/strict";
import { EXAMPLE_TYPES, generateTypes, OPENAPI_TYPESCRIPT } from "../../local/openapi.ts";
import { npxUnavailableReason } from "../harness/npx.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;
const skip = await npxUnavailableReason(OPENAPI_TYPESCRIPT, "The openapi-typescript tests are");
const options = { ignore: skip !== null, sanitizeResources: false };

// Generated once for both tests: the document as the gateway serves it now.
const fresh = skip ? Promise.resolve("") : generateTypes();

Deno.test({
  name: `openapi: examples/openapi.d.ts is what ${OPENAPI_TYPESCRIPT} generates now`,
  ...options,
}, async () => {
  assert.ok(
    (await fresh) === await Deno.readTextFile(EXAMPLE_TYPES),
    "examples/openapi.d.ts is stale: run `npx --yes deno@2.9.6 task openapi` and commit it",
  );
});

/** `deno check` of `files` in a throwaway project that has the fresh types as openapi.d.ts and
 * the examples' own imports (openapi-fetch, pinned). */
async function checkAgainstFreshTypes(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "gateway-types-" });
  try {
    await Deno.copyFile(`${EXAMPLES}deno.json`, `${dir}/deno.json`);
    await Deno.writeTextFile(`${dir}/openapi.d.ts`, await fresh);
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", ...Object.keys(files)],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    return {
      ok: out.success,
      said: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "openapi: the openapi-fetch example type-checks against freshly generated types, and a " +
    "wrong call does not",
  ...options,
}, async () => {
  const client = await Deno.readTextFile(`${EXAMPLES}openapi_fetch.ts`);
  // The types constrain the client: a number among contact_ids and an unknown path are refused.
  // One `deno check` of both files (a type check costs two seconds of CPU): it must fail, and
  // only in wrong.ts.
  const checked = await checkAgainstFreshTypes({
    "openapi_fetch.ts": client,
    "wrong.ts": `import createClient from "openapi-fetch";
import type { paths } from "./openapi.d.ts";
const client = createClient<paths>({ baseUrl: "http://localhost:54321/functions/v1" });
await client.POST("/api-gateway/v1/companies/{id}/contacts/link", {
  params: { path: { id: "c0000000-0000-4000-8000-000000000001" } },
  body: { contact_ids: [1] },
});
await client.GET("/api-gateway/v1/companies/{id}/people", {});
`,
  });
  const places = [...checked.said.matchAll(/at file:\/\/\S*\/([^/\s]+):\d+:\d+/g)].map((m) => m[1]);
  assert.deepEqual(
    places.filter((file) => file !== "wrong.ts"),
    [],
    `examples/openapi_fetch.ts does not type-check:\n${checked.said}`,
  );
  assert.ok(!checked.ok, "a mistyped call type-checked: the generated types constrain nothing");
  assert.ok(places.length >= 2, checked.said);
  assert.match(checked.said, /TS2322/, checked.said);
  assert.match(checked.said, /people/, checked.said);
});
