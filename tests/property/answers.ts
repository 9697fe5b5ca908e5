/**
 * What any answer of the gateway must look like, whatever was asked: the error envelope, the
 * rate-limit headers, the request id, the exact shape of a 200. Assertions only; which apply to
 * a given request is decided in check.ts.
 */
import assert from "node:assert/strict";
import { ERRORS, isErrorCode } from "../../supabase/functions/api-gateway/errors.ts";
import { RATE_LIMIT_HEADER_NAMES } from "../../supabase/functions/api-gateway/kit/outcome.ts";
import { SANE_REQUEST_ID, UUID } from "./hostile.ts";

type Json = ReturnType<typeof JSON.parse>;

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) &&
  Object.getPrototypeOf(v) === Object.prototype;

export function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`${what} is not JSON: ${text.slice(0, 300)}`);
  }
}

const DETAIL_KEYS = ["code", "in", "message", "path"];
const SOURCES = ["path", "query", "body"];

/** Exactly `{error: {code, message, details?}}`, with a known code whose status (in ERRORS) is
 * the answer's, and details items of exactly {path, code, message, in}. Returns the error. */
export function assertEnvelope(status: number, text: string): Record<string, unknown> {
  const json = parseJson(text, `the ${status} body`);
  const excerpt = text.slice(0, 300);
  assert.ok(isPlainObject(json), `the ${status} body is not an object: ${excerpt}`);
  assert.deepEqual(Object.keys(json), ["error"], excerpt);
  const error = json.error;
  assert.ok(isPlainObject(error), excerpt);
  const keys = Object.keys(error).sort().join();
  assert.ok(keys === "code,message" || keys === "code,details,message", `keys ${keys}: ${excerpt}`);
  assert.ok(isErrorCode(error.code), `unknown code: ${excerpt}`);
  assert.equal(ERRORS[error.code].status, status, `code ${error.code} on ${status}`);
  assert.equal(typeof error.message, "string");
  assert.ok((error.message as string).length > 0);
  if ("details" in error) {
    assert.ok(Array.isArray(error.details) && error.details.length > 0, excerpt);
    for (const d of error.details as unknown[]) {
      assert.ok(isPlainObject(d), excerpt);
      assert.deepEqual(Object.keys(d).sort(), DETAIL_KEYS, excerpt);
      for (const v of Object.values(d)) assert.equal(typeof v, "string", excerpt);
      assert.ok(SOURCES.includes(d.in as string), `details in ${d.in}: ${excerpt}`);
    }
  }
  return error;
}

const INTEGER = /^(0|[1-9][0-9]*)$/;
const POLICY = /^"minute";q=([0-9]+);w=60, "day";q=([0-9]+);w=86400$/;
const STATE = /^"(minute|day)";r=([0-9]+);t=([0-9]+)$/;

/** The rate-limit headers are all there or none is, and when there, well formed: whole numbers,
 * the daily quota in both spellings, its reset at most a day away. Returns whether they are. */
export function rateLimitHeaders(headers: Headers, context: string): boolean {
  const present = RATE_LIMIT_HEADER_NAMES.filter((name) => headers.has(name));
  if (present.length === 0) return false;
  assert.deepEqual(present, [...RATE_LIMIT_HEADER_NAMES], `some rate-limit headers: ${context}`);
  const [limit, remaining, reset] = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
  ]
    .map((name) => {
      const value = headers.get(name)!;
      assert.match(value, INTEGER, `${name}: ${context}`);
      return Number(value);
    });
  assert.ok(remaining <= limit, `remaining ${remaining} over limit ${limit}: ${context}`);
  const now = Date.now() / 1000;
  assert.ok(
    reset > now - 60 && reset <= now + 86_400 + 60,
    `X-RateLimit-Reset ${reset}: ${context}`,
  );
  const policy = POLICY.exec(headers.get("RateLimit-Policy")!);
  assert.ok(policy, `RateLimit-Policy ${headers.get("RateLimit-Policy")}: ${context}`);
  assert.equal(Number(policy[2]), limit, `the daily quota twice: ${context}`);
  const state = STATE.exec(headers.get("RateLimit")!);
  assert.ok(state, `RateLimit ${headers.get("RateLimit")}: ${context}`);
  assert.ok(Number(state[3]) >= 1, `RateLimit t: ${context}`);
  return true;
}

/** A sane X-Request-ID comes back as sent; anything else is replaced by a generated UUID. */
export function assertRequestId(sent: string | null, got: string | null, context: string) {
  assert.ok(got, `no X-Request-ID: ${context}`);
  if (sent !== null && SANE_REQUEST_ID.test(sent)) assert.equal(got, sent, context);
  else assert.match(got, UUID, context);
}

/** The 200 body is exactly what the route's response schema describes: it parses, and parsing
 * drops nothing (an unknown key is stripped by zod, so it shows as a difference). */
export function assertResponseShape(
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: unknown } },
  json: unknown,
  context: string,
) {
  const parsed = schema.safeParse(json);
  assert.ok(parsed.success, `the 200 does not match its schema: ${context}`);
  assert.deepEqual(parsed.data, json, `the 200 has more than its schema: ${context}`);
}

/** Nothing reached Object.prototype, Array.prototype or Function.prototype. */
export function prototypeWatch(): () => void {
  const watched = [Object.prototype, Array.prototype, Function.prototype];
  const before = watched.map((p) => Reflect.ownKeys(p).length);
  return () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "prototype pollution");
    watched.forEach((p, i) =>
      assert.equal(Reflect.ownKeys(p).length, before[i], "a prototype gained a property")
    );
  };
}
