/**
 * `deno task secrets <command>`: the keys webhook signing secrets are encrypted under
 * (supabase/functions/api-gateway/webhooks/secret_keys.ts).
 *   reencrypt        every stored secret under WEBHOOK_SECRETS_KEYS' first key (local/webhook_secrets.ts)
 *   new-key <id>     prints a new WEBHOOK_SECRETS_KEYS entry, `<id>:<base64 of 32 random bytes>`
 * Errors: one line on stderr, exit 1 (2 for a command line that cannot be understood). Never
 * prints a key it was given or a secret.
 */
import {
  newKeyEntry,
  parseKeyring,
  SECRETS_KEYS_VARIABLE,
  SecretsKeyError,
} from "../supabase/functions/api-gateway/webhooks/secret_keys.ts";
import { ApiError } from "../supabase/functions/api-gateway/errors.ts";
import { connectPostgres } from "./postgres.ts";
import { postgresJsQuery } from "./sql_db.ts";
import { TASK } from "./task_command.ts";
import { reencryptWebhookSecrets } from "./webhook_secrets.ts";

const USAGE = `usage: ${TASK} secrets <command>
  reencrypt       re-encrypts every webhook signing secret under the first key of
                  ${SECRETS_KEYS_VARIABLE} (secrets still in the clear too); safe to re-run
  new-key <id>    prints a new ${SECRETS_KEYS_VARIABLE} entry: <id>:<base64 of 32 random bytes>
reencrypt reads DATABASE_URL (an owner connection string) and ${SECRETS_KEYS_VARIABLE} (the new
key first, then every key a stored secret may be under).`;

class UsageError extends Error {}

async function reencrypt(): Promise<string> {
  const keyring = await parseKeyring(Deno.env.get(SECRETS_KEYS_VARIABLE));
  const url = Deno.env.get("DATABASE_URL");
  if (!url) {
    throw new UsageError(
      "no database: set DATABASE_URL to an owner connection string " +
        `(\`${TASK} dev\` prints the one of its database)`,
    );
  }
  const sql = connectPostgres(url, { role: null, max: 1, waits: "patient", prepare: false });
  try {
    const r = await reencryptWebhookSecrets(postgresJsQuery(sql), keyring);
    return `re-encrypted the secrets of ${r.reencrypted} of ${r.endpoints} webhook endpoints ` +
      `under key ${keyring.currentKid} (${r.plaintext} were in the clear; ` +
      `${r.endpoints - r.reencrypted} were under it already). Every stored secret is now ` +
      `encrypted under ${keyring.currentKid}: older keys may leave ${SECRETS_KEYS_VARIABLE} ` +
      "once the function runs with this one (docs/deploying.md).";
  } finally {
    await sql.end().catch(() => {});
  }
}

function reason(err: unknown): string {
  if (err instanceof SecretsKeyError || err instanceof UsageError) return err.message;
  if (err instanceof ApiError && err.status === 503) return "cannot reach DATABASE_URL";
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.code === "23514") {
    return "the database refuses encrypted secrets: apply the migrations first " +
      "(supabase db push), then run this again";
  }
  return `${e?.name ?? "Error"}${e?.code ? ` ${e.code}` : ""}: ${
    String(e?.message ?? err).split("\n")[0]
  }`;
}

if (import.meta.main) {
  let code = 0;
  try {
    const [command, ...rest] = Deno.args;
    if (command === "-h" || command === "--help") {
      console.log(USAGE);
    } else if (command === "reencrypt" && rest.length === 0) {
      console.log(await reencrypt());
    } else if (command === "new-key" && rest.length === 1) {
      console.log(newKeyEntry(rest[0]));
    } else {
      throw new UsageError(
        command ? `cannot understand: ${Deno.args.join(" ")}` : "no command given",
      );
    }
  } catch (err) {
    const hint = err instanceof UsageError ? ` (${TASK} secrets --help)` : "";
    console.error(`secrets: ${reason(err)}${hint}`);
    code = err instanceof UsageError ? 2 : 1;
  }
  Deno.exit(code);
}
