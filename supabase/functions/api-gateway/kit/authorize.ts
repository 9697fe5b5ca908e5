import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import {
  isErrorCode,
  missingPermission,
  rateLimited,
  unknownKey,
  workspaceBusy,
} from "../errors.ts";
import type { Permission } from "../permissions.ts";
import { FORM_ARGUMENTS } from "./idempotency.ts";
import { type Outcome, rateLimitHeaders } from "./outcome.ts";

/** Who is asking: the hash of the presented key, and the scope the route needs. */
export interface Caller {
  keyHash: string;
  permission: Permission;
}

/** Arguments the kit passes itself: a route's own may not name them (the handler refuses, a 500
 * before any call). With the Idempotency-Key form's, which the database's build refuses to make
 * for a function with an argument of those names. */
export const KIT_ARGUMENTS = ["p_key_hash", "p_now", ...FORM_ARGUMENTS] as const;

/** Outcomes of api_authorize that are not error codes: "busy" is the workspace's own queue
 * (answered 429 like a spent quota, with Retry-After: 1). */
const AUTHORIZATION_OUTCOMES = new Set(["ok", "busy"]);

/** The request's one database call: a SQL function that authorizes the key itself. Records the
 * outcome for the log line, sets the rate-limit headers whenever the key was valid, and throws
 * the refusal (401, 403, 429) when there is one. Returns the outcome otherwise: "ok" or one of
 * the endpoint's own codes. */
export async function callAuthorized(
  c: Context<AppEnv>,
  caller: Caller,
  fn: string,
  args: Record<string, unknown>,
): Promise<Outcome> {
  const { db, clock, refusals } = c.get("deps");
  const raw = await db.call<unknown>(fn, {
    ...args,
    p_key_hash: caller.keyHash,
    ...(clock ? { p_now: clock().toISOString() } : {}),
  });
  const outcome = asOutcome(raw);
  if (outcome.outcome === "rate_limited") refusals.remember(caller.keyHash, outcome, nowMs(c));
  answer(c, outcome);
  switch (outcome.outcome) {
    case "invalid_key":
      throw unknownKey();
    case "insufficient_permissions":
      // With data, the endpoint's own refusal (a key that would grant what it lacks): its
      // declaration words it. Without, api_authorize's: the key lacks the route's permission.
      if (outcome.data === undefined) throw missingPermission(caller.permission);
      break;
    case "busy":
      throw workspaceBusy();
  }
  return outcome;
}

/** Step 1's other half: a key the database refused for its window is refused here, without a
 * database call, until that window resets (kit/refusals.ts), exactly as the database would
 * answer: the same status, body and headers, Retry-After counting down. */
export function refuseIfStillLimited(c: Context<AppEnv>, caller: Caller): void {
  const standing = c.get("deps").refusals.standing(caller.keyHash, nowMs(c));
  if (standing) answer(c, standing);
}

/** For a request refused before its call (its input is invalid): the key is still checked and the
 * request counted, so 401, 403 and 429 come before the 400, and the 400 carries the rate-limit
 * headers. */
export async function authorizeOnly(c: Context<AppEnv>, caller: Caller): Promise<void> {
  await callAuthorized(c, caller, "api_authorize", { p_permission: caller.permission });
}

/** Records the outcome for the log line and sets the rate-limit headers; a spent window is
 * thrown as its 429. */
function answer(c: Context<AppEnv>, outcome: Outcome): void {
  c.set("outcome", outcome);
  const state = outcome.rate_limit;
  if (!state) return;
  for (const [name, value] of Object.entries(rateLimitHeaders(state))) c.header(name, value);
  if (outcome.outcome === "rate_limited") {
    const window = state.window ?? "minute";
    throw rateLimited(window, state[window].limit, state[window].reset_in);
  }
}

/** The time the database takes as now: the app's clock when it has one. */
const nowMs = (c: Context<AppEnv>) => c.get("deps").clock?.().getTime() ?? Date.now();

/** Anything else than the documented shape is a bug in a SQL function: a 500, never a guess. */
function asOutcome(raw: unknown): Outcome {
  const o = raw as Outcome | null;
  if (
    o === null || typeof o !== "object" || Array.isArray(o) || typeof o.outcome !== "string" ||
    (!AUTHORIZATION_OUTCOMES.has(o.outcome) && !isErrorCode(o.outcome))
  ) {
    throw new UnexpectedResult();
  }
  return o;
}

export class UnexpectedResult extends Error {
  constructor() {
    super("A database function answered something other than its documented shape.");
    this.name = "UnexpectedResult";
  }
}
