/**
 * The gateway with nothing but fetch: link two contacts to a company, walk all its contacts page
 * by page, unlink one, and handle an error.
 *
 *   LEADLEX_API_URL=http://localhost:54321/functions/v1 LEADLEX_API_KEY=wbk_... \
 *     npx --yes deno@2.9.6 run --allow-env --allow-net examples/fetch.ts
 */
const API_URL = Deno.env.get("LEADLEX_API_URL") ?? "http://localhost:54321/functions/v1";
const API_KEY = Deno.env.get("LEADLEX_API_KEY");
if (!API_KEY) throw new Error("Set LEADLEX_API_KEY to an API key (wbk_...).");

const GLOBEX = "c0000000-0000-4000-8000-000000000001";
const ADA = "a0000000-0000-4000-8000-000000000001";
const ALAN = "a0000000-0000-4000-8000-000000000002";
// Contacts per page: 100, the most (the tests set 1, to walk several pages).
const PER_PAGE = Number(Deno.env.get("LEADLEX_PER_PAGE") ?? 100);

type BatchResult = { data: { updated: number; failed: number; failed_ids: string[] } };
type Contact = { id: string; full_name: string | null; email: string | null };
type ContactPage = {
  data: Contact[];
  // total on the first page only; next_cursor null on the last.
  meta: { total?: number; has_more: boolean; next_cursor: string | null };
};

/** Any answer but 2xx: the envelope `{"error": {"code", "message", "details"?}}`. */
class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`);
  }
}

/** One call. On 429 (or 503) waits Retry-After seconds and tries again, at most twice: link and
 * unlink are idempotent, and a refused request did nothing. */
async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  for (let attempt = 1;; attempt++) {
    const response = await fetch(`${API_URL}/api-gateway/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${API_KEY}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const headers = response.headers;
    console.log(
      `${method} ${path}: ${response.status}, RateLimit: ${headers.get("RateLimit")}, ` +
        `${headers.get("X-RateLimit-Remaining")} of ${headers.get("X-RateLimit-Limit")} left today`,
    );
    const retryAfter = Number(headers.get("Retry-After"));
    if ([429, 503].includes(response.status) && attempt < 3 && retryAfter <= 60) {
      await response.body?.cancel();
      console.log(`  retrying in ${retryAfter} s`);
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
      continue;
    }
    const json = await response.json().catch(() => null);
    if (!response.ok) {
      const { code = "http_error", message = response.statusText } = json?.error ?? {};
      throw new ApiError(response.status, code, message);
    }
    return json as T;
  }
}

/** Every page of a company's contacts: the first, then each page's next_cursor until it is null.
 * A page costs the same however deep; rows linked or unlinked meanwhile may or may not show, and
 * none shows twice. */
async function* contactPages(companyId: string): AsyncGenerator<ContactPage> {
  let query = `per_page=${PER_PAGE}`;
  while (true) {
    const page = await call<ContactPage>("GET", `/companies/${companyId}/contacts?${query}`);
    yield page;
    if (page.meta.next_cursor === null) return;
    query = `per_page=${PER_PAGE}&cursor=${encodeURIComponent(page.meta.next_cursor)}`;
  }
}

try {
  const linked = await call<BatchResult>("POST", `/companies/${GLOBEX}/contacts/link`, {
    contact_ids: [ADA, ALAN],
  });
  console.log(`linked: ${linked.data.updated} updated, ${linked.data.failed} failed`);

  for await (const page of contactPages(GLOBEX)) {
    if (page.meta.total !== undefined) console.log(`Globex has ${page.meta.total} contacts:`);
    for (const contact of page.data) console.log(`  ${contact.id} ${contact.full_name}`);
  }

  const unlinked = await call<BatchResult>("POST", `/companies/${GLOBEX}/contacts/unlink`, {
    contact_ids: [ALAN],
  });
  console.log(`unlinked: ${unlinked.data.updated} updated, ${unlinked.data.failed} failed`);

  // An error, handled: a company that is not in the workspace.
  await call("GET", "/companies/c0000000-0000-4000-8000-000000000009/contacts").catch((err) => {
    if (!(err instanceof ApiError) || err.code !== "company_not_found") throw err;
    console.log(`refused as expected: ${err.message}`);
  });
} catch (err) {
  if (!(err instanceof ApiError)) throw err;
  console.error(`error: ${err.message}`);
  Deno.exit(1);
}
