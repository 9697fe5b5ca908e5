/**
 * The dispatcher: claims the deliveries that are due (claim_webhook_deliveries: leased, so two
 * dispatchers never send one attempt twice), POSTs each to its endpoint signed per Standard
 * Webhooks, and records the attempt (record_webhook_attempt, which schedules the retry). Runs in
 * the deployed function's dispatch route (pg_cron asks it every 10 seconds) and in the dev server
 * (every second). At-least-once: a dispatcher that dies mid-delivery loses its lease, and the
 * delivery goes again with the same webhook-id, the receiver's idempotency key.
 *
 * Each delivery is sent on its own: one slow or dead endpoint (10 s at most, then a timeout) never
 * holds back another's. The URL is checked again before every delivery (webhookUrlProblem), and
 * redirects are never followed. Logged: one line per attempt, without the URL, the secrets or the
 * signatures.
 */
import type { Logger } from "../context.ts";
import type { GatewayDb } from "../db/port.ts";
import { decryptSecrets, type SecretKeyring } from "./secret_keys.ts";
import { signatures } from "./sign.ts";
import { type UrlPolicy, webhookUrlProblem } from "./url_policy.ts";

/** A receiver must answer within this. */
export const DELIVERY_TIMEOUT_MS = 10_000;
export const USER_AGENT = "LeadLex-api-gateway-webhooks/1.0 (+Standard Webhooks)";
/** The start of a receiver's answer kept with the attempt; never more. */
const RESPONSE_PREFIX_BYTES = 256;

export interface DispatchOptions {
  db: GatewayDb;
  urlPolicy: UrlPolicy;
  /** The keys the stored secrets are encrypted under (keyringOf): asked for before each claim, so
   * a deploy without WEBHOOK_SECRETS_KEYS claims nothing and fails loudly. */
  secretKeyring: () => Promise<SecretKeyring>;
  /** The fetch deliveries go through (tests inject one). */
  fetch?: typeof fetch;
  /** What the database takes as now when claiming and scheduling (tests move it); the
   * database's clock otherwise. Signatures always carry the wall clock. */
  clock?: () => Date;
  log?: Logger;
  /** Deliveries per claim. */
  limit?: number;
  /** How long a claimed delivery is this dispatcher's: longer than a delivery can take. */
  leaseSeconds?: number;
  /** How long a receiver has to answer (DELIVERY_TIMEOUT_MS; tests shorten it). */
  timeoutMs?: number;
}

interface Claimed {
  delivery_id: string;
  attempt: number;
  event_id: string;
  url: string;
  /** Encrypted, as stored (webhooks/secret_keys.ts). */
  secrets: string[];
  body: string;
}

export interface DispatchReport {
  claimed: number;
  succeeded: number;
  /** Attempts that failed (the delivery is retried, or failed for good). */
  failed: number;
}

/** One round: claims what is due and delivers it, every delivery side by side. */
export async function dispatchDue(options: DispatchOptions): Promise<DispatchReport> {
  const { db, clock } = options;
  const now = () => clock ? { p_now: clock().toISOString() } : {};
  await options.secretKeyring();
  const claimed = await db.call<Claimed[]>("claim_webhook_deliveries", {
    p_limit: options.limit ?? 50,
    p_lease_seconds: options.leaseSeconds ?? 60,
    ...now(),
  }) ?? [];
  const settled = await Promise.allSettled(claimed.map(async (delivery) => {
    const attempt = await deliver(delivery, options);
    await db.call("record_webhook_attempt", {
      p_delivery_id: delivery.delivery_id,
      p_attempt: delivery.attempt,
      p_status_code: attempt.status,
      p_duration_ms: attempt.durationMs,
      p_error_class: attempt.errorClass,
      p_response_prefix: attempt.responsePrefix,
      p_retry_after_seconds: attempt.retryAfterSeconds,
      ...now(),
    });
    options.log?.({
      level: "info",
      msg: "webhook attempt",
      delivery_id: delivery.delivery_id,
      event_id: delivery.event_id,
      attempt: delivery.attempt,
      status: attempt.status,
      duration_ms: attempt.durationMs,
      error_class: attempt.errorClass,
    });
    return attempt.errorClass === null;
  }));
  // Every attempt is sent and recorded before a failure to record one is reported (its lease runs
  // out, and it goes again).
  const failure = settled.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
  const succeeded = settled.filter((r) => r.status === "fulfilled" && r.value).length;
  return { claimed: claimed.length, succeeded, failed: claimed.length - succeeded };
}

/** Rounds one after another while they find anything due, for up to `budgetMs`: the dispatch
 * route's one call from pg_cron drains a backlog, not one claim's worth per 10 s. */
export async function dispatchUntilIdle(
  options: DispatchOptions,
  budgetMs = 8_000,
): Promise<DispatchReport & { rounds: number }> {
  const started = performance.now();
  const total = { claimed: 0, succeeded: 0, failed: 0, rounds: 0 };
  while (true) {
    const round = await dispatchDue(options);
    total.rounds++;
    total.claimed += round.claimed;
    total.succeeded += round.succeeded;
    total.failed += round.failed;
    if (round.claimed === 0 || performance.now() - started >= budgetMs) return total;
  }
}

interface Attempt {
  status: number | null;
  durationMs: number;
  errorClass: string | null;
  responsePrefix: string | null;
  retryAfterSeconds: number | null;
}

async function deliver(delivery: Claimed, options: DispatchOptions): Promise<Attempt> {
  const started = performance.now();
  const done = (rest: Omit<Attempt, "durationMs">): Attempt => ({
    ...rest,
    durationMs: Math.round(performance.now() - started),
  });
  const refused = await webhookUrlProblem(delivery.url, options.urlPolicy);
  if (refused) {
    return done({
      status: null,
      errorClass: "blocked_address",
      responsePrefix: null,
      retryAfterSeconds: null,
    });
  }
  // The wall clock, whatever the database is told (a test's clock): receivers hold the signature
  // to theirs, within a few minutes.
  const timestamp = Math.floor(Date.now() / 1000);
  // The secrets are decrypted here, right before signing, and nowhere else. A secret that does not
  // decrypt is not a failed attempt: the delivery is not recorded, and goes again once its lease
  // runs out (the round's error says why).
  const signature = await signatures(
    await decryptSecrets(delivery.secrets, await options.secretKeyring()),
    delivery.event_id,
    timestamp,
    delivery.body,
  );
  try {
    const res = await (options.fetch ?? fetch)(delivery.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signature,
      },
      body: delivery.body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs ?? DELIVERY_TIMEOUT_MS),
    });
    const status = res.status;
    return done({
      status,
      errorClass: status >= 200 && status < 300
        ? null
        : status >= 300 && status < 400
        ? "redirect"
        : "http_status",
      responsePrefix: await prefixOf(res),
      retryAfterSeconds: retryAfter(res.headers.get("retry-after")),
    });
  } catch (err) {
    const name = (err as Error)?.name;
    return done({
      status: null,
      errorClass: name === "TimeoutError" || name === "AbortError" ? "timeout" : "connection",
      responsePrefix: null,
      retryAfterSeconds: null,
    });
  }
}

/** The first bytes of the answer, as text; the rest is not read. */
async function prefixOf(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_PREFIX_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // What arrived before the failure is enough.
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, RESPONSE_PREFIX_BYTES));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk.subarray(0, bytes.length - at), at);
    at += Math.min(chunk.length, bytes.length - at);
    if (at >= bytes.length) break;
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  return text === "" ? null : text;
}

/** Retry-After as seconds: a number of seconds, or an HTTP date. */
function retryAfter(value: string | null): number | null {
  if (!value) return null;
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
