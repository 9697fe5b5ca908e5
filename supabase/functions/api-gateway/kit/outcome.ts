/** What every endpoint function answers (see api_authorize in supabase/migrations): the outcome,
 * and for a valid key its org, display prefix and rate-limit state. */
export interface Outcome<D = unknown> {
  /** "ok", an authorization refusal, or one of the endpoint's own error codes. */
  outcome: string;
  org_id?: string;
  key_prefix?: string;
  rate_limit?: RateLimitState;
  data?: D;
  /** A refusal's own wait, in seconds (delivery_retry_limited). */
  retry_after?: number;
  /** The Idempotency-Key form's mark on a stored result it answers again. */
  replayed?: boolean;
}

export interface RateLimitState {
  /** Present when the request was refused: the window that refused it. */
  window?: WindowName;
  minute: WindowState;
  day: WindowState;
}

export type WindowName = "minute" | "day";

export interface WindowState {
  limit: number;
  remaining: number;
  /** Unix seconds at which the window resets. */
  reset: number;
  /** Whole seconds until then, at least 1. */
  reset_in: number;
}

const WINDOW_SECONDS: Record<WindowName, number> = { minute: 60, day: 86_400 };

/** X-RateLimit-* for the daily quota (as LeadLex documents) and the IETF draft-11 fields for
 * both windows; RateLimit names the window that runs out first. */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  const { minute, day } = state;
  const first: WindowName = state.window ??
    (day.remaining < minute.remaining ||
        (day.remaining === minute.remaining && day.reset_in < minute.reset_in)
      ? "day"
      : "minute");
  const policy = (name: WindowName) => `"${name}";q=${state[name].limit};w=${WINDOW_SECONDS[name]}`;
  return {
    "X-RateLimit-Limit": String(day.limit),
    "X-RateLimit-Remaining": String(day.remaining),
    "X-RateLimit-Reset": String(day.reset),
    "RateLimit-Policy": `${policy("minute")}, ${policy("day")}`,
    "RateLimit": `"${first}";r=${state[first].remaining};t=${state[first].reset_in}`,
  };
}

export const RATE_LIMIT_HEADER_NAMES = [
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "RateLimit-Policy",
  "RateLimit",
] as const;
