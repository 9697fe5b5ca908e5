/**
 * Local gateway: `deno task dev`. Serves the same public URL shape as Supabase,
 * http://localhost:$PORT/functions/v1/api-gateway/v1/..., on embedded PGlite (migrations and
 * seed applied at start) or, with DATABASE_URL, on that Postgres (migrations already applied).
 */
import { createApp } from "../supabase/functions/api-gateway/app.ts";
import { ApiError } from "../supabase/functions/api-gateway/errors.ts";
import { createApiKey } from "./api_keys.ts";
import { openPglite } from "./pglite.ts";
import { connectPostgres } from "./postgres.ts";
import { createSqlDb, pgliteQuery, postgresJsQuery, type Query } from "./sql_db.ts";

export const DEMO_ORG_ID = "0a000000-0000-4000-8000-000000000001";
export const DEMO_COMPANY_ID = "c0000000-0000-4000-8000-000000000001";
export const DEMO_CONTACT_IDS = [
  "a0000000-0000-4000-8000-000000000001",
  "a0000000-0000-4000-8000-000000000002",
];
const PUBLIC_PREFIX = "/functions/v1";

const port = Number(Deno.env.get("PORT") ?? 54321);
const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
const databaseUrl = Deno.env.get("DATABASE_URL");

let query: Query;
let owner: Query;
let close: () => Promise<void>;
let database: string;
if (databaseUrl) {
  const role = Deno.env.get("DATABASE_ROLE") ?? "service_role";
  const sql = connectPostgres(databaseUrl, { role: role === "" ? null : role });
  const admin = connectPostgres(databaseUrl, { role: null, max: 1 });
  query = postgresJsQuery(sql);
  owner = postgresJsQuery(admin);
  close = () => Promise.all([sql.end(), admin.end()]).then(() => {});
  database = `Postgres at ${new URL(databaseUrl).host} (statements as ${role || "login role"})`;
} else {
  const pg = await openPglite({ seed: true });
  query = pgliteQuery(pg);
  owner = pgliteQuery(pg, null);
  close = () => pg.close();
  database = "embedded PGlite (migrations + supabase/seed.sql applied)";
}

// Supabase serves the function under /functions/v1 and hands it /api-gateway/...; the app routes
// the same way by dropping that prefix.
const app = createApp({ db: createSqlDb(query), servedUnder: PUBLIC_PREFIX });
const key = await createApiKey(owner, {
  orgId: DEMO_ORG_ID,
  name: `deno task dev ${new Date().toISOString()}`,
  permissions: ["contacts:write"],
}).catch((err) => {
  const reason = err instanceof ApiError && err.status === 503
    ? "the database cannot be reached"
    : `${err?.name ?? err} ${err?.code ?? ""}; is supabase/seed.sql applied?`;
  console.error(`Could not create a key for the demo org ${DEMO_ORG_ID}: ${reason}`);
  return null;
});

const server = Deno.serve({
  port,
  hostname,
  onListen: () => {
    const base = `http://localhost:${port}${PUBLIC_PREFIX}/api-gateway`;
    const lines = [
      `api-gateway listening on ${base}`,
      `database: ${database}`,
      `OpenAPI: ${base}/v1/openapi.json`,
    ];
    if (key) {
      lines.push(
        "",
        "A new API key for the demo org (contacts:write). It is shown only this once:",
        `  ${key.plaintext}`,
        "",
        "Try it:",
        `curl -sS -X POST ${base}/v1/companies/${DEMO_COMPANY_ID}/contacts/link \\`,
        `  -H "Authorization: Bearer ${key.plaintext}" \\`,
        `  -H "Content-Type: application/json" \\`,
        `  -d '{"contact_ids": ["${DEMO_CONTACT_IDS.join('", "')}"]}'`,
      );
    }
    console.log(lines.join("\n") + "\n");
  },
}, app.fetch);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    await close();
    Deno.exit(0);
  });
}
