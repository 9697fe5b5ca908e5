import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { isErrorCode, missingPermission, rateLimited, unknownKey } from "../errors.ts";
import type { Permission } from "../permissions.ts";
import { type Outcome, rateLimitHeaders } from "./outcome.ts";

/** Who is asking: the hash of the presented key, and the scope the route needs. */
export interface Caller {
  keyHash: string;
  permission: Permission;
}

/** Arguments the kit passes itself: a route's own may not name them (registerEndpoint refuses). */
export const KIT_ARGUMENTS = ["p_key_hash", "p_now"] as const;

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
  const { db, clock } = c.get("deps");
  const raw = await db.call<unknown>(fn, {
    ...args,
    p_key_hash: caller.keyHash,
    ...(clock ? { p_now: clock().toISOString() } : {}),
  });
  const outcome = asOutcome(raw);
  c.set("outcome", outcome);
  if (outcome.rate_limit) {
    for (const [name, value] of Object.entries(rateLimitHeaders(outcome.rate_limit))) {
      c.header(name, value);
    }
  }
  switch (outcome.outcome) {
    case "invalid_key":
      throw unknownKey();
    case "insufficient_permissions":
      throw missingPermission(caller.permission);
    case "rate_limited": {
      const state = outcome.rate_limit!;
      const window = state.window ?? "minute";
      throw rateLimited(window, state[window].limit, state[window].reset_in);
    }
  }
  return outcome;
}

/** For a request refused before its call (its input is invalid): the key is still checked and the
 * request counted, so 401, 403 and 429 come before the 400, and the 400 carries the rate-limit
 * headers. */
export async function authorizeOnly(c: Context<AppEnv>, caller: Caller): Promise<void> {
  await callAuthorized(c, caller, "api_authorize", { p_permission: caller.permission });
}

/** Anything else than the documented shape is a bug in a SQL function: a 500, never a guess. */
function asOutcome(raw: unknown): Outcome {
  const o = raw as Outcome | null;
  if (
    o === null || typeof o !== "object" || Array.isArray(o) || typeof o.outcome !== "string" ||
    (o.outcome !== "ok" && !isErrorCode(o.outcome))
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
