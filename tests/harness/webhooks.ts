// What the webhook route tests share: the shape of an endpoint as the API shows it, and reads of
// the stored state.
import assert from "node:assert/strict";
import type { Query } from "../../local/sql_db.ts";
import { WEBHOOK_EVENT_TYPES } from "../../supabase/functions/api-gateway/webhooks/events.ts";
import { testKeyring } from "./secrets.ts";

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
/** A secret as the table stores it: encrypted (webhooks/secret_keys.ts), under the tests' key. */
export const STORED_SECRET = /^whenc_v1\.test-1\.[A-Za-z0-9_-]{104}$/;

/** The stored value is a ciphertext, not the secret, and it decrypts to the secret shown. */
export async function assertStoredSecret(stored: string | null | undefined, shown: string) {
  assert.match(stored ?? "", STORED_SECRET);
  assert.ok(!stored!.includes(shown.slice("whsec_".length, 20)), "no part of it in the clear");
  assert.equal(await testKeyring.decrypt(stored!), shown);
}

export const WEBHOOK_FIELDS = [
  "active",
  "created_at",
  "description",
  "disabled_reason",
  "events",
  "id",
  "last_delivery_at",
  "last_delivery_status",
  "updated_at",
  "url",
];

/** An endpoint as the API shows it: exactly its fields, never a secret (unless `withSecret`). */
export function assertWebhook(webhook: unknown, withSecret = false) {
  const w = webhook as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(w).sort(),
    [...WEBHOOK_FIELDS, ...(withSecret ? ["secret"] : [])].sort(),
  );
  assert.ok(
    (w.events as string[]).every((t) => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(t)),
  );
  assert.match(w.created_at as string, ISO_UTC);
  assert.match(w.updated_at as string, ISO_UTC);
  if (withSecret) assert.match(w.secret as string, SECRET);
}

export interface StoredEndpoint {
  id: string;
  org_id: string;
  url: string;
  events: string[];
  description: string | null;
  active: boolean;
  secret: string;
  previous_secret: string | null;
  disabled_reason: string | null;
  deleted_at: Date | null;
}

export async function storedEndpoint(owner: Query, id: string): Promise<StoredEndpoint | null> {
  const [row] = await owner<StoredEndpoint>(
    `select id, org_id, url, events, description, active, secret, previous_secret,
            disabled_reason, deleted_at
     from public.webhook_endpoints where id = $1`,
    [id],
  );
  return row ?? null;
}

export async function deliveryStatus(owner: Query, id: string): Promise<string | null> {
  const [row] = await owner<{ status: string }>(
    "select status from public.webhook_deliveries where id = $1",
    [id],
  );
  return row?.status ?? null;
}

/** Every pending delivery cancelled: nothing the seed, the fixtures or another step queued may be
 * due in a step that counts what a claim or a dispatch takes. */
export async function cancelPendingDeliveries(owner: Query): Promise<void> {
  await owner(
    "update public.webhook_deliveries set status = 'cancelled' where status = 'pending'",
    [],
  );
}
