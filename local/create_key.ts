/**
 * `deno task create-key --org <org uuid> [--permissions contacts:write,...] [--name text]
 *  [--expires 2027-01-01T00:00:00Z]` with DATABASE_URL set (owner access, e.g. the Supabase
 * project's connection string). Prints the new key once; only its hash and prefix are stored.
 */
import { parseArgs } from "node:util";
import { createApiKey } from "./api_keys.ts";
import { connectPostgres } from "./postgres.ts";
import { postgresJsQuery } from "./sql_db.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    org: { type: "string" },
    permissions: { type: "string", default: "contacts:write" },
    name: { type: "string", default: "api key" },
    expires: { type: "string" },
  },
});
const databaseUrl = Deno.env.get("DATABASE_URL");
if (!databaseUrl || !values.org) {
  console.error(
    "usage: DATABASE_URL=postgresql://... deno task create-key --org <org uuid> " +
      "[--permissions contacts:write] [--name text] [--expires ISO-8601]",
  );
  Deno.exit(2);
}
const expiresAt = values.expires ? new Date(values.expires) : null;
if (expiresAt && Number.isNaN(expiresAt.getTime())) {
  console.error("--expires is not a date");
  Deno.exit(2);
}

const sql = connectPostgres(databaseUrl, { role: null, max: 1 });
try {
  const key = await createApiKey(postgresJsQuery(sql), {
    orgId: values.org,
    name: values.name,
    permissions: values.permissions.split(",").map((p) => p.trim()).filter(Boolean),
    expiresAt,
  });
  console.log(`key id ${key.id}; the key (shown only this once):\n${key.plaintext}`);
} catch (err) {
  console.error(
    `could not create the key: ${err instanceof Error ? err.name : String(err)}` +
      ` (${(err as { code?: string }).code ?? "no code"}); is the org id right?`,
  );
  Deno.exitCode = 1;
} finally {
  await sql.end();
}
