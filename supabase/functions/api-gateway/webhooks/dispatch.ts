/**
 * The dispatcher: claims the deliveries that are due (claim_webhook_deliveries: leased, so two
 * dispatchers never send one attempt twice; fair between orgs, a few in flight per endpoint),
 * POSTs each to its endpoint signed per Standard Webhooks, and records the attempt
 * (record_webhook_attempt, which schedules the retry). Runs in the deployed function's dispatch
 * route (pg_cron asks it every 10 seconds) and in the dev server. At-least-once: a dispatcher that
 * dies mid-delivery loses its lease, and the delivery goes again with the same webhook-id, the
 * receiver's idempotency key.
 *
 * A pool, not rounds (dispatchUntilIdle): up to `concurrency` sends in flight, and small claims as
 * sends finish, so a receiver that stalls holds its own slots and nobody else's. Each send is
 * bounded as a whole (URL check, connection, answer and the start of its body) by `timeoutMs`.
 * Whatever a receiver answers (any status, any Retry-After, any bytes) is cleaned and clamped
 * before it is recorded, and a failure to record one attempt is logged and touches nothing else.
 * The URL is checked again before every delivery (webhookUrlProblem), and redirects are never
 * followed. Logged: one line per attempt, without the URL, the secrets or the signatures.
 */
import type { Logger } from "../context.ts";
import type { GatewayDb } from "../db/port.ts";
import { decryptSecrets, type SecretKeyring, SecretsKeyError } from "./secret_keys.ts";
import { signatures } from "./sign.ts";
import { type UrlPolicy, webhookUrlProblem } from "./url_policy.ts";

/** A receiver must answer within this (the start of its body included). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** How long the dispatch route claims for, so that pg_cron's call (pg_net waits 30 s) is answered
 * in time: claims stop then, and the sends in flight end within DELIVERY_TIMEOUT_MS. */
export const DISPATCH_BUDGET_MS = 8_000;
export const USER_AGENT = "LeadLex-api-gateway-webhooks/1.0 (+Standard Webhooks)";
/** The start of a receiver's answer kept with the attempt; never more. */
const RESPONSE_PREFIX_BYTES = 256;
/** A Retry-After is honoured up to a day. */
const MAX_RETRY_AFTER_SECONDS = 86_400;

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
  /** Deliveries per claim (dispatchDue: 50; the pool: 10, at most its free slots). */
  limit?: number;
  /** The pool's sends in flight at most (50). */
  concurrency?: number;
  /** How long a claimed delivery is this dispatcher's: longer than a delivery can take. */
  leaseSeconds?: number;
  /** How long a send may take, all of it (DELIVERY_TIMEOUT_MS; tests shorten it). */
  timeoutMs?: number;
  /** The pool looks for newly due deliveries this often while its sends are in flight (250). */
  pollMs?: number;
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

/** One claim of `limit`, every delivery sent side by side. */
export async function dispatchDue(options: DispatchOptions): Promise<DispatchReport> {
  const claimed = await claim(options, options.limit ?? 50);
  const results = await Promise.all(claimed.map((delivery) => sendAndRecord(delivery, options)));
  const succeeded = results.filter(Boolean).length;
  return { claimed: claimed.length, succeeded, failed: claimed.length - succeeded };
}

/** The pool: claims while it has free slots and finds anything due, for up to `budgetMs`, then
 * waits for the sends in flight. A claim that fails (the database is unreachable) stops the
 * claiming; it is thrown once the sends in flight are recorded. */
export async function dispatchUntilIdle(
  options: DispatchOptions,
  budgetMs = DISPATCH_BUDGET_MS,
): Promise<DispatchReport & { claims: number }> {
  const started = performance.now();
  const timeLeft = () => budgetMs - (performance.now() - started);
  const concurrency = Math.max(1, options.concurrency ?? 50);
  const claimSize = Math.max(1, options.limit ?? 10);
  const pollMs = options.pollMs ?? 250;
  const total = { claimed: 0, succeeded: 0, failed: 0, claims: 0 };
  const inFlight = new Set<Promise<void>>();
  let claimError: { err: unknown } | undefined;
  // Set when a send ends, so a wait that starts after it does not miss it.
  let finished = false;
  let wake = () => {};
  while (true) {
    let drained = false;
    while (!claimError && !drained && timeLeft() > 0 && inFlight.size < concurrency) {
      const want = Math.min(claimSize, concurrency - inFlight.size);
      let batch: Claimed[];
      try {
        batch = await claim(options, want);
      } catch (err) {
        claimError = { err };
        break;
      }
      total.claims++;
      total.claimed += batch.length;
      drained = batch.length < want;
      for (const delivery of batch) {
        const send: Promise<void> = sendAndRecord(delivery, options).then((ok) => {
          if (ok) total.succeeded++;
          else total.failed++;
        }).finally(() => {
          inFlight.delete(send);
          finished = true;
          wake();
        });
        inFlight.add(send);
      }
    }
    if (inFlight.size === 0 && (drained || claimError || timeLeft() <= 0)) break;
    if (!finished) {
      // A send ending frees its endpoint's slot; time passing makes retries due.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
    finished = false;
  }
  if (claimError) throw claimError.err;
  return total;
}

async function claim(options: DispatchOptions, limit: number): Promise<Claimed[]> {
  await options.secretKeyring();
  return await options.db.call<Claimed[] | null>("claim_webhook_deliveries", {
    p_limit: limit,
    p_lease_seconds: options.leaseSeconds ?? 60,
    ...now(options),
  }).then((claimed) => claimed ?? []);
}

const now = (options: DispatchOptions) =>
  options.clock ? { p_now: options.clock().toISOString() } : {};

/** Sends one delivery and records the attempt; true when it succeeded. Never throws: whatever
 * goes wrong is logged, and the claim has already moved the delivery's next attempt on. */
async function sendAndRecord(delivery: Claimed, options: DispatchOptions): Promise<boolean> {
  const ids = {
    delivery_id: delivery.delivery_id,
    event_id: delivery.event_id,
    attempt: delivery.attempt,
  };
  let attempt: Attempt;
  try {
    attempt = await deliver(delivery, options);
  } catch (err) {
    options.log?.({ level: "error", msg: "webhook attempt not sent", ...ids, ...cause(err) });
    return false;
  }
  try {
    await options.db.call("record_webhook_attempt", {
      p_delivery_id: delivery.delivery_id,
      p_attempt: delivery.attempt,
      p_status_code: attempt.status,
      p_duration_ms: attempt.durationMs,
      p_error_class: attempt.errorClass,
      p_response_prefix: attempt.responsePrefix,
      p_retry_after_seconds: attempt.retryAfterSeconds,
      ...now(options),
    });
  } catch (err) {
    options.log?.({ level: "error", msg: "webhook attempt not recorded", ...ids, ...cause(err) });
  }
  options.log?.({
    level: "info",
    msg: "webhook attempt",
    ...ids,
    status: attempt.status,
    duration_ms: attempt.durationMs,
    error_class: attempt.errorClass,
  });
  return attempt.errorClass === null;
}

/** What a log line may say of an error: its class and code, never its message (a database's can
 * quote a row, a runtime's the URL). */
function cause(err: unknown): Record<string, unknown> {
  const code = (err as { code?: unknown })?.code;
  return {
    error: err instanceof Error ? err.name : typeof err,
    ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
    // Ours, and written to be logged: which key id is missing, never a key or a secret.
    ...(err instanceof SecretsKeyError ? { message: err.message } : {}),
  };
}

interface Attempt {
  /** The receiver's status, when it is one (100-599). */
  status: number | null;
  durationMs: number;
  errorClass: string | null;
  responsePrefix: string | null;
  retryAfterSeconds: number | null;
}

async function deliver(delivery: Claimed, options: DispatchOptions): Promise<Attempt> {
  const started = performance.now();
  const done = (rest: Partial<Omit<Attempt, "durationMs">>): Attempt => ({
    status: null,
    errorClass: null,
    responsePrefix: null,
    retryAfterSeconds: null,
    ...rest,
    durationMs: Math.round(performance.now() - started),
  });
  // One bound for the whole send: the URL check's lookup, the connection, the answer, its body.
  const signal = AbortSignal.timeout(options.timeoutMs ?? DELIVERY_TIMEOUT_MS);
  let refused: string | null;
  try {
    refused = await untilAborted(webhookUrlProblem(delivery.url, options.urlPolicy), signal);
  } catch {
    return done({ errorClass: "timeout" });
  }
  if (refused) return done({ errorClass: "blocked_address" });
  // The wall clock, whatever the database is told (a test's clock): receivers hold the signature
  // to theirs, within a few minutes.
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = await signatureHeader(delivery, timestamp, options);
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(delivery.url, {
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
      signal,
    });
  } catch (err) {
    const name = (err as Error)?.name;
    return done({
      errorClass: name === "TimeoutError" || name === "AbortError" ? "timeout" : "connection",
    });
  }
  const status = res.status;
  const valid = Number.isInteger(status) && status >= 100 && status <= 599;
  return done({
    status: valid ? status : null,
    errorClass: !valid
      ? "invalid_status"
      : status >= 200 && status < 300
      ? null
      : status >= 300 && status < 400
      ? "redirect"
      : "http_status",
    responsePrefix: await prefixOf(res, signal),
    retryAfterSeconds: retryAfterSeconds(res.headers.get("retry-after")),
  });
}

/** The one place a claimed delivery's secrets become its signature header. */
/** The one place secrets become a signature: decrypted here, right before signing, and nowhere
 * else. A secret that does not decrypt is not sent: the failure is logged, and the claim has
 * already moved the delivery's next attempt on. */
async function signatureHeader(
  delivery: Claimed,
  timestamp: number,
  options: DispatchOptions,
): Promise<string> {
  const secrets = await decryptSecrets(delivery.secrets, await options.secretKeyring());
  return signatures(secrets, delivery.event_id, timestamp, delivery.body);
}

/** `promise`, or a rejection once `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/** The first RESPONSE_PREFIX_BYTES of the answer as text Postgres can hold (valid UTF-8, no NUL),
 * or null; the rest is never read. Reading stops when the send's time is up. */
async function prefixOf(res: Response, signal: AbortSignal): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const bytes = new Uint8Array(RESPONSE_PREFIX_BYTES);
  let size = 0;
  try {
    while (size < bytes.length) {
      const { done, value } = await untilAborted(reader.read(), signal);
      if (done) break;
      const take = Math.min(value.length, bytes.length - size);
      bytes.set(value.subarray(0, take), size);
      size += take;
    }
  } catch {
    // What arrived before the failure (a reset, the timeout) is enough.
  } finally {
    reader.cancel().catch(() => {});
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, size))
    .replaceAll("\u0000", "\uFFFD");
  return text === "" ? null : text;
}

/** Retry-After as whole seconds from now, 0 to a day: a number of seconds, or an HTTP date
 * (either may be absurd: a date centuries ahead waits a day). */
export function retryAfterSeconds(value: string | null, nowMs = Date.now()): number | null {
  const text = value?.trim();
  if (!text) return null;
  let seconds: number;
  if (/^\d+$/.test(text)) {
    seconds = Number(text);
  } else {
    // An HTTP date starts with its day's name (all three forms RFC 9110 reads); anything else
    // (Date.parse takes "-5" for a year) is no Retry-After.
    const at = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(at)) return null;
    seconds = Math.ceil((at - nowMs) / 1000);
  }
  return Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_SECONDS);
}
