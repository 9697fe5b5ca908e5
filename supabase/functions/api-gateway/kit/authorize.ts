import type { Context } from "hono";
import type { AppEnv } from "../deps.ts";
import {
  type ApiError,
  isErrorCode,
  missingPermission,
  rateLimited,
  unknownKey,
} from "../errors.ts";
import { type Outcome, rateLimitHeaders } from "./outcome.ts";

type Ctx = Context<AppEnv>;

/** The request's one database call: a SQL function that authorizes the key itself. Records the
 * outcome for the log line, sets the rate-limit headers whenever the key was valid, and throws
 * the refusal (401, 403, 429) when there is one. Returns the outcome otherwise, "ok" or one of
 * the endpoint's own codes. */
export async function callAuthorized(
  c: Ctx,
  fn: string,
  args: Record<string, unknown>,
): Promise<Outcome> {
  const { db, clock } = c.get("deps");
  const raw = await db.call<unknown>(fn, {
    ...args,
    p_key_hash: c.get("keyHash"),
    ...(clock ? { p_now: clock().toISOString() } : {}),
  });
  const outcome = asOutcome(raw);
  c.set("outcome", outcome);
  const headers = outcome.rate_limit ? rateLimitHeaders(outcome.rate_limit) : {};
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  refuseUnlessAuthorized(c, outcome);
  return outcome;
}

/** For a request refused before its call (its input is invalid): the key is still checked and
 * the request counted, so 401, 403 and 429 come before the 400, and the 400 carries the
 * rate-limit headers. Throws `inputError` when authorization passes. */
export async function refuseInput(c: Ctx, inputError: ApiError): Promise<never> {
  // Unauthenticated routes (the OpenAPI document) have no key to check.
  if (c.get("keyHash") !== undefined && c.get("outcome") === undefined) {
    await callAuthorized(c, "api_authorize", { p_permission: c.get("permission") });
  }
  throw inputError;
}

function refuseUnlessAuthorized(c: Ctx, outcome: Outcome): void {
  switch (outcome.outcome) {
    case "invalid_key":
      throw unknownKey();
    case "insufficient_permissions":
      throw missingPermission(c.get("permission"));
    case "rate_limited": {
      const state = outcome.rate_limit!;
      const window = state.window ?? "minute";
      throw rateLimited(window, state[window].limit, state[window].reset_in);
    }
  }
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
