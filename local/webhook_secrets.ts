/**
 * Re-encrypting the webhook signing secrets (`deno task secrets reencrypt`, local/secrets.ts):
 * every endpoint's secret and previous secret, deleted endpoints' included (a dump holds them
 * too), brought under the current key of the keyring (WEBHOOK_SECRETS_KEYS' first entry):
 * ciphertexts under an older key are decrypted and encrypted again, and secrets still in the clear
 * (a database deployed before they were encrypted) are encrypted.
 *
 * Row by row, each one statement: the UPDATE takes the row's lock and applies only if the row
 * still holds what was read, so a rotation that lands in between is never undone (the row is read
 * again and redone). Nothing else is written (not updated_at: no one changed the endpoint).
 * Idempotent: a row already under the current key is skipped, so it is safe to stop and re-run.
 * Once every row is encrypted, the table's NOT VALID constraints (a database that had rows in the
 * clear when the migration ran) are validated: from then on Postgres vouches for every row.
 */
import type { Query } from "./sql_db.ts";
import {
  LEGACY_PLAINTEXT,
  type SecretKeyring,
} from "../supabase/functions/api-gateway/webhooks/secret_keys.ts";

const BATCH = 500;
const TRIES = 5;
const CONSTRAINTS = ["webhook_endpoints_secret_check", "webhook_endpoints_previous_secret_check"];

export interface ReencryptReport {
  /** Endpoints seen (every row of public.webhook_endpoints). */
  endpoints: number;
  /** Endpoints whose secrets were written again, under the current key. */
  reencrypted: number;
  /** Of those, the ones that held a secret in the clear. */
  plaintext: number;
  /** Whether the table's secret constraints hold for every row (validated). */
  validated: boolean;
}

interface Row {
  id: string;
  secret: string;
  previous_secret: string | null;
}

export async function reencryptWebhookSecrets(
  owner: Query,
  keyring: SecretKeyring,
): Promise<ReencryptReport> {
  const report: ReencryptReport = { endpoints: 0, reencrypted: 0, plaintext: 0, validated: false };
  const current = (s: string | null) => s === null || keyring.isCurrent(s);
  const reseal = async (s: string | null) => {
    if (s === null || keyring.isCurrent(s)) return s;
    return await keyring.encrypt(LEGACY_PLAINTEXT.test(s) ? s : await keyring.decrypt(s));
  };

  for (let after = "00000000-0000-0000-0000-000000000000";;) {
    const rows = await owner<Row>(
      `select id, secret, previous_secret from public.webhook_endpoints
       where id > $1 order by id limit ${BATCH}`,
      [after],
    );
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
    report.endpoints += rows.length;
    for (const read of rows) {
      let row: Row | undefined = read;
      for (
        let attempt = 1;
        row && !(current(row.secret) && current(row.previous_secret));
        attempt++
      ) {
        if (attempt > TRIES) {
          throw new Error(`endpoint ${row.id} kept changing under the re-encryption: run it again`);
        }
        const inClear = [row.secret, row.previous_secret].some((s) =>
          s && LEGACY_PLAINTEXT.test(s)
        );
        const written = await owner<{ id: string }>(
          `update public.webhook_endpoints set secret = $2, previous_secret = $3
           where id = $1 and secret = $4 and previous_secret is not distinct from $5
           returning id`,
          [
            row.id,
            await reseal(row.secret),
            await reseal(row.previous_secret),
            row.secret,
            row.previous_secret,
          ],
        );
        if (written.length === 1) {
          report.reencrypted++;
          if (inClear) report.plaintext++;
          break;
        }
        // Rotated (or deleted) since it was read: read it again.
        [row] = await owner<Row>(
          "select id, secret, previous_secret from public.webhook_endpoints where id = $1",
          [row.id],
        );
      }
    }
  }

  const pending = await owner<{ conname: string }>(
    `select conname from pg_catalog.pg_constraint
     where conrelid = 'public.webhook_endpoints'::regclass and not convalidated
       and conname = any ($1::text[])`,
    [CONSTRAINTS],
  );
  for (const { conname } of pending) {
    // Names from the fixed list above, never from input.
    await owner(`alter table public.webhook_endpoints validate constraint ${conname}`, []);
  }
  report.validated = true;
  return report;
}
