/**
 * `deno task keys <command>`: the key lifecycle from a terminal, a thin layer over
 * local/api_keys.ts. One path to a database: DATABASE_URL, with owner rights (a Supabase project's,
 * or the one `deno task dev` prints while it runs, whatever its mode). Errors: one line on stderr,
 * exit 1 (2 for a command line that cannot be understood).
 */
import { parseArgs } from "node:util";
import { ApiError } from "../supabase/functions/api-gateway/errors.ts";
import { PERMISSIONS } from "../supabase/functions/api-gateway/permissions.ts";
import {
  issueKey,
  KeyError,
  type KeyInfo,
  listKeys,
  parseDuration,
  parseExpiry,
  revokeKey,
  rotateKey,
} from "./api_keys.ts";
import { connectPostgres } from "./postgres.ts";
import { postgresJsQuery, type Query } from "./sql_db.ts";
import { TASK } from "./task_command.ts";

const USAGE = `usage: ${TASK} keys <command>
  create --org <org id> --name <text> --permissions ${PERMISSIONS.join(",")}
         [--description <text>] [--expires <ISO date>]
  list   --org <org id> [--json]
  revoke <key id | prefix>
  rotate <key id | prefix> [--grace 30s|15m|2h|7d (default 0)] [--expires <ISO date>]
The database: DATABASE_URL, an owner connection string (\`${TASK} dev\` prints its own).`;

class UsageError extends Error {}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        org: { type: "string" },
        name: { type: "string" },
        description: { type: "string" },
        permissions: { type: "string" },
        expires: { type: "string" },
        grace: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

type Parsed = ReturnType<typeof parse>;

function required(values: Parsed["values"], name: "org" | "name" | "permissions"): string {
  const value = values[name];
  if (value === undefined) throw new UsageError(`missing --${name}`);
  return value;
}

function onlyOptions(values: Parsed["values"], allowed: string[]) {
  const extra = Object.keys(values).find((k) => !allowed.includes(k));
  if (extra) throw new UsageError(`--${extra} does not apply to this command`);
}

function oneRef(positionals: string[], command: string): string {
  if (positionals.length !== 2) throw new UsageError(`${command} takes one key id or prefix`);
  return positionals[1];
}

const when = (d: Date | null) => d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "-";

// A future revoked_at is a rotation's grace as this tool wrote it before rotations shortened the
// old key's expiry instead (supabase/migrations/*_rotate_api_key.sql).
function revokedText(key: KeyInfo, now = new Date()): string {
  if (!key.revokedAt) return "-";
  return key.revokedAt > now ? `${when(key.revokedAt)} (grace)` : when(key.revokedAt);
}

function table(keys: KeyInfo[]): string {
  const head = [
    "id",
    "prefix",
    "name",
    "permissions",
    "created",
    "last used",
    "expires",
    "revoked",
  ];
  const rows = keys.map((k) => [
    k.id,
    k.prefix,
    k.name,
    k.permissions.join(","),
    when(k.createdAt),
    when(k.lastUsedAt),
    when(k.expiresAt),
    revokedText(k),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

/** Runs one command; what it prints goes to stdout. */
async function run(parsed: Parsed, query: Query): Promise<void> {
  const { values, positionals } = parsed;
  const command = positionals[0];
  switch (command) {
    case "create": {
      onlyOptions(values, ["org", "name", "permissions", "description", "expires"]);
      if (positionals.length > 1) throw new UsageError("create takes no positional argument");
      const key = await issueKey(query, {
        orgId: required(values, "org"),
        name: required(values, "name"),
        permissions: required(values, "permissions").split(","),
        description: values.description ?? null,
        expiresAt: values.expires === undefined ? null : parseExpiry(values.expires),
      });
      console.log(
        `created key ${key.prefix} (id ${key.id}). The key, shown only this once:\n${key.plaintext}`,
      );
      return;
    }
    case "list": {
      onlyOptions(values, ["org", "json"]);
      const keys = await listKeys(query, required(values, "org"));
      console.log(values.json ? JSON.stringify(keys, null, 2) : table(keys));
      return;
    }
    case "revoke": {
      onlyOptions(values, []);
      const key = await revokeKey(query, oneRef(positionals, "revoke"));
      console.log(
        `revoked key ${key.prefix} (id ${key.id}) at ${when(key.revokedAt)}: ` +
          "refused from the next request on",
      );
      return;
    }
    case "rotate": {
      onlyOptions(values, ["grace", "expires"]);
      const ref = oneRef(positionals, "rotate");
      const graceSeconds = values.grace === undefined ? 0 : parseDuration(values.grace);
      const expiresAt = values.expires === undefined ? null : parseExpiry(values.expires);
      const { old, created } = await rotateKey(query, ref, { graceSeconds, expiresAt });
      const expiry = created.expiresAt
        ? `expires ${when(created.expiresAt)}${expiresAt ? "" : ", as the old one"}`
        : "no expiry";
      console.log(
        `rotated key ${old.prefix} (id ${old.id}): it is refused from ${when(old.expiresAt)}` +
          `${graceSeconds > 0 ? "" : " (now)"}.\n` +
          `new key ${created.prefix} (id ${created.id}, ${expiry}), shown only this once:\n` +
          created.plaintext,
      );
      return;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  }
}

/** Owner access to DATABASE_URL. */
function open() {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) {
    throw new UsageError(
      "no database: set DATABASE_URL to an owner connection string " +
        `(\`${TASK} dev\` prints the one of its database)`,
    );
  }
  let sql;
  try {
    // A command a person waits for: a slow machine is not an unreachable database.
    sql = connectPostgres(url, { role: null, max: 1, waits: "patient", prepare: false });
  } catch (err) {
    throw new KeyError(`DATABASE_URL is not a connection URL: ${(err as Error).message}`);
  }
  return { query: postgresJsQuery(sql), close: () => sql.end(), via: hostOf(url) };
}

function hostOf(url: string): string {
  try {
    return `Postgres at ${new URL(url).host}`;
  } catch {
    return "DATABASE_URL";
  }
}

/** One line for any failure. */
function reason(err: unknown, via: string): string {
  if (err instanceof KeyError || err instanceof UsageError) return err.message;
  if (err instanceof ApiError && err.status === 503) return `cannot reach ${via}`;
  const e = err as { name?: string; code?: string; message?: string };
  const first = String(e?.message ?? err).split("\n")[0];
  return `${e?.name ?? "Error"}${e?.code ? ` ${e.code}` : ""}: ${first}`;
}

if (import.meta.main) {
  let via = "the database";
  let code = 0;
  let db: ReturnType<typeof open> | undefined;
  try {
    const parsed = parse(Deno.args);
    if (parsed.values.help) {
      console.log(USAGE);
    } else {
      if (parsed.positionals.length === 0) throw new UsageError("no command given");
      db = open();
      via = db.via;
      await run(parsed, db.query);
    }
  } catch (err) {
    const hint = err instanceof UsageError ? ` (${TASK} keys --help)` : "";
    console.error(`keys: ${reason(err, via)}${hint}`);
    code = err instanceof UsageError ? 2 : 1;
  } finally {
    await db?.close().catch(() => {});
  }
  Deno.exit(code);
}
