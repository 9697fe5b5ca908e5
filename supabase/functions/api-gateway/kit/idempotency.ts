/**
 * `Idempotency-Key` on every POST, PATCH and DELETE (draft-ietf-httpapi-idempotency-key-header-07,
 * as Stripe and LeadLex use it), for every endpoint the kit serves, with nothing per endpoint.
 *
 * With the header the request's one database call is the endpoint function's Idempotency-Key form,
 * public.<fn>_idempotent (generated for every endpoint function: migration 20261206008000; what it
 * does: 20261206006100 and 20261206007000), handed the endpoint's arguments, the key's value and
 * the request as canonical JSON (method, path template, path parameters, query, body with sorted
 * keys: whitespace and key order do not count). There, in that call, the value gives the lookup
 * hash (SHA-256; the record is the org's: another org's use of the same value is another record),
 * and through HKDF-SHA-512 the keys the answer is sealed with and the fingerprint's (an HMAC of the
 * request, so another request under the key is told apart, 422): the database never holds the
 * value, the answer or the body in a form readable without it.
 */
import { type ApiError, validationError } from "../errors.ts";

export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
export const REPLAYED_HEADER = "Idempotent-Replayed";
/** The methods that take the header; a GET ignores it. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["post", "patch", "delete"]);
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** How long an answer is kept, and the key taken: the SQL function's interval. */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

const PRINTABLE = /^[\x20-\x7e]+$/;

/** The header's value: absent (undefined), the key, or the 400 it earns. The draft's form is a
 * structured-field string (`"..."`, with `\"` and `\\` escapes); the bare form Stripe's clients
 * send is taken as it is. Either way 1 to 255 printable ASCII characters, and both forms of one
 * value are the same key. */
export function parseIdempotencyKey(
  header: string | undefined,
): { key: string } | { error: ApiError } | undefined {
  if (header === undefined) return undefined;
  const raw = header.trim();
  let key: string | null = raw;
  if (raw.startsWith('"')) key = unquote(raw);
  if (
    key === null || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH ||
    !PRINTABLE.test(key)
  ) {
    return { error: invalidIdempotencyKey() };
  }
  return { key };
}

/** An sf-string (RFC 8941 3.3.3) that is the whole value, unescaped; null when it is not one. */
function unquote(raw: string): string | null {
  let out = "";
  for (let i = 1; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === "\\") {
      const next = raw[++i];
      if (next !== '"' && next !== "\\") return null;
      out += next;
    } else if (ch === '"') {
      return i === raw.length - 1 ? out : null;
    } else if (ch < " " || ch > "~") {
      return null;
    } else {
      out += ch;
    }
  }
  return null;
}

const invalidIdempotencyKey = () =>
  validationError([{
    path: [IDEMPOTENCY_KEY_HEADER],
    code: "invalid_format",
    message: `Must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters, bare or ` +
      "as a quoted string; a random UUID is best",
  }], "header");

/** What the request to identify: the route and what the client sent for it. */
export interface RequestIdentity {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string[]>;
  /** The parsed JSON body (before zod), or undefined without one. */
  body: unknown;
}

/** The endpoint function's Idempotency-Key form: its arguments, and these. */
export const idempotentForm = (fn: string) => `${fn}_idempotent`;
export const FORM_ARGUMENTS = [
  "p_permission",
  "p_idempotency_key",
  "p_request",
  "p_method",
  "p_path",
] as const;

/** The form's own arguments (besides the endpoint's, the key's hash and the clock). */
export type IdempotencyArguments = Record<(typeof FORM_ARGUMENTS)[number], string>;

/** The value itself goes with the call, where pgcrypto derives the keys (C, ~10 µs) rather than
 * the gateway (@noble/hashes in JavaScript took ~33 µs of CPU a request; Web Crypto's async
 * operations ~0.3 ms; node:crypto starts Deno's Node layer, kit/key.ts says why not). */
export function idempotencyArguments(
  key: string,
  permission: string,
  request: RequestIdentity,
): IdempotencyArguments {
  return {
    p_permission: permission,
    p_idempotency_key: key,
    p_request: canonicalJson([
      request.method,
      request.path,
      request.params,
      request.query,
      request.body ?? null,
    ]),
    p_method: request.method,
    p_path: request.path,
  };
}

/** JSON with every object's keys sorted: equal JSON values, equal text. */
export function canonicalJson(value: unknown): string {
  return keysInOrder(value) ? JSON.stringify(value) ?? "null" : sortedJson(value);
}

/** Whether every object's keys, as JSON.stringify writes them, are in the order canonicalJson
 * sorts them to: then JSON.stringify's own text is the canonical one (a body of one field, a
 * path's one parameter, an empty query: most requests), in half the time (~1.3 µs for a link of
 * 10 ids, against ~3 µs sorted). */
function keysInOrder(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) return value.every(keysInOrder);
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    if (!keysInOrder((value as Record<string, unknown>)[key])) return false;
    previous = key;
  }
  return true;
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
