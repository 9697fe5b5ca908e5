/**
 * The gateway with openapi-fetch over the types openapi-typescript generates from its OpenAPI
 * document (examples/openapi.d.ts): paths, parameters, bodies, answers and error envelopes are
 * all checked at compile time.
 *
 *   LEADLEX_API_URL=http://localhost:54321/functions/v1 LEADLEX_API_KEY=wbk_... \
 *     npx --yes deno@2.9.6 run --allow-env --allow-net examples/openapi_fetch.ts
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./openapi.d.ts";

const API_KEY = Deno.env.get("LEADLEX_API_KEY");
if (!API_KEY) throw new Error("Set LEADLEX_API_KEY to an API key (wbk_...).");

const GLOBEX = "c0000000-0000-4000-8000-000000000001";
const ADA = "a0000000-0000-4000-8000-000000000001";
const ALAN = "a0000000-0000-4000-8000-000000000002";
// Contacts per page: 100, the most (the tests set 1, to walk several pages).
const PER_PAGE = Number(Deno.env.get("LEADLEX_PER_PAGE") ?? 100);

/** On 429 (or 503) waits Retry-After seconds and sends the request again, at most twice: link
 * and unlink are idempotent, and a refused request did nothing. */
async function fetchWithRetry(request: Request): Promise<Response> {
  for (let attempt = 1;; attempt++) {
    const response = await fetch(request.clone());
    const retryAfter = Number(response.headers.get("Retry-After"));
    if (![429, 503].includes(response.status) || attempt === 3 || !(retryAfter <= 60)) {
      return response;
    }
    await response.body?.cancel();
    console.log(`${response.status}: retrying in ${retryAfter} s`);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
  }
}

const client = createClient<paths>({
  // The OpenAPI document's server: https://<project-ref>.supabase.co/functions/v1 once deployed.
  baseUrl: Deno.env.get("LEADLEX_API_URL") ?? "http://localhost:54321/functions/v1",
  headers: { Authorization: `Bearer ${API_KEY}` },
  fetch: fetchWithRetry,
});
client.use({
  // Every answer to a valid key carries the workspace's quota.
  onResponse({ request, response }) {
    const headers = response.headers;
    console.log(
      `${request.method} ${new URL(request.url).pathname}: ${response.status}, ` +
        `RateLimit: ${headers.get("RateLimit")}, ` +
        `${headers.get("X-RateLimit-Remaining")} of ${headers.get("X-RateLimit-Limit")} left today`,
    );
  },
});

/** Any answer but 2xx: the envelope `{"error": {"code", "message", "details"?}}`. */
class ApiError extends Error {
  constructor(readonly status: number, readonly envelope: components["schemas"]["Error"]) {
    super(`${status} ${envelope.error.code}: ${envelope.error.message}`);
  }
}

/** The data of a 2xx answer; an ApiError for anything else. */
function ok<T>(result: { data?: T; error?: components["schemas"]["Error"]; response: Response }) {
  if (result.error) throw new ApiError(result.response.status, result.error);
  return result.data as T;
}

/** Every page of a company's contacts: the first, then each page's next_cursor until it is null.
 * A page costs the same however deep; rows linked or unlinked meanwhile may or may not show, and
 * none shows twice. */
async function* contactPages(id: string) {
  let cursor: string | undefined;
  while (true) {
    const page = ok(
      await client.GET("/api-gateway/v1/companies/{id}/contacts", {
        params: { path: { id }, query: { per_page: PER_PAGE, cursor } },
      }),
    );
    yield page;
    if (page.meta.next_cursor === null) return;
    cursor = page.meta.next_cursor;
  }
}

try {
  const linked = ok(
    await client.POST("/api-gateway/v1/companies/{id}/contacts/link", {
      params: { path: { id: GLOBEX } },
      body: { contact_ids: [ADA, ALAN] },
    }),
  );
  console.log(`linked: ${linked.data.updated} updated, ${linked.data.failed} failed`);

  for await (const page of contactPages(GLOBEX)) {
    if (page.meta.total !== undefined) console.log(`Globex has ${page.meta.total} contacts:`);
    for (const contact of page.data) console.log(`  ${contact.id} ${contact.full_name}`);
  }

  const unlinked = ok(
    await client.POST("/api-gateway/v1/companies/{id}/contacts/unlink", {
      params: { path: { id: GLOBEX } },
      body: { contact_ids: [ALAN] },
    }),
  );
  console.log(`unlinked: ${unlinked.data.updated} updated, ${unlinked.data.failed} failed`);

  // An error, handled: a company that is not in the workspace. `error` is typed by the document.
  const { error, response } = await client.GET("/api-gateway/v1/companies/{id}/contacts", {
    params: { path: { id: "c0000000-0000-4000-8000-000000000009" } },
  });
  if (error?.error.code !== "company_not_found") throw new Error("expected company_not_found");
  console.log(
    `refused as expected: ${response.status} ${error.error.code}: ${error.error.message}`,
  );
} catch (err) {
  if (!(err instanceof ApiError)) throw err;
  console.error(`error: ${err.message}`);
  Deno.exit(1);
}
