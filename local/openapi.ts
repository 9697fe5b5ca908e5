/**
 * The OpenAPI document as files, and the tools that read it: `deno task openapi` regenerates
 * supabase/functions/api-gateway/openapi.generated.ts (what the function serves, from the route
 * declarations by local/openapi/document.ts) and examples/openapi.d.ts (the types the
 * openapi-fetch example is checked against); tests/openapi lints the document and checks both
 * committed files are current.
 */
import { createApp } from "../supabase/functions/api-gateway/app.ts";
import { BASE_PATH } from "../supabase/functions/api-gateway/paths.ts";
import { runOrThrow } from "./command.ts";
import { documentModule, documentText } from "./openapi/document.ts";

/** The releases every command here runs; the docs' commands name the same (held by
 * tests/e2e/clients.test.ts). */
export const REDOCLY_CLI = "@redocly/cli@2.77.0";
export const OPENAPI_TYPESCRIPT = "openapi-typescript@7.13.0";

const REPO = new URL("../", import.meta.url).pathname;
export const REDOCLY_CONFIG = `${REPO}redocly.yaml`;
export const EXAMPLE_TYPES = `${REPO}examples/openapi.d.ts`;
export const DOCUMENT = `${REPO}supabase/functions/api-gateway/openapi.generated.ts`;

/** The document the gateway serves at GET /v1/openapi.json (the committed file, with `servers`
 * appended), pretty-printed. No database is needed: the route answers without one. */
export async function openApiJson(
  servers?: { url: string; description: string }[],
): Promise<string> {
  const app = createApp({
    db: { call: () => Promise.reject(new Error("the OpenAPI document needs no database")) },
    log: () => {},
    servers,
  });
  const res = await app.request(`${BASE_PATH}/v1/openapi.json`);
  if (res.status !== 200) throw new Error(`GET openapi.json answered ${res.status}`);
  return JSON.stringify(await res.json(), null, 2) + "\n";
}

/** openapi-typescript's output for the document, as text. */
export async function generateTypes(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-openapi-" });
  try {
    await Deno.writeTextFile(`${dir}/openapi.json`, documentText());
    await runOrThrow([
      "npx",
      "--yes",
      OPENAPI_TYPESCRIPT,
      `${dir}/openapi.json`,
      "--redocly",
      REDOCLY_CONFIG,
      "--output",
      `${dir}/openapi.d.ts`,
    ]);
    return await Deno.readTextFile(`${dir}/openapi.d.ts`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await Deno.writeTextFile(DOCUMENT, documentModule());
  console.log(`wrote ${DOCUMENT}`);
  await Deno.writeTextFile(EXAMPLE_TYPES, await generateTypes());
  console.log(`wrote ${EXAMPLE_TYPES}`);
}
