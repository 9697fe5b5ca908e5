/**
 * `Idempotency-Key` on every POST, PATCH and DELETE (draft-ietf-httpapi-idempotency-key-header-07,
 * as Stripe and LeadLex use it), for every endpoint the kit serves, with nothing per endpoint.
 *
 * With the header the request's one database call is public.api_idempotent_call (its migration
 * says what it does), handed the endpoint's function and arguments, and three things derived here
 * from the key's value, so that the database never holds anything readable without it:
 *   - the lookup hash: SHA-256 of the value (the record is the org's: another org's use of the same
 *     value is another record);
 *   - the answer key: 64 bytes of HKDF-SHA-256 of the value, the AES-256 key and the HMAC key the
 *     stored answer is sealed with (used in that call, never stored);
 *   - the fingerprint: HMAC-SHA-256, under a third derived key, of the request as JSON (method,
 *     path template, path parameters, query, body as a JSON value with sorted keys: whitespace and
 *     key order do not count), so another request under the key is told apart (422) without the
 *     body being readable from a dump.
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

/** api_idempotent_call's own arguments (besides the endpoint's, the key's hash and the clock). */
export interface IdempotencyArguments {
  p_idempotency_key_hash: string;
  p_fingerprint: string;
  p_answer_key: string;
  p_method: string;
  p_path: string;
}

const encoder = new TextEncoder();
// Fixed and public: HKDF's salt need not be secret; the value is what the keys depend on.
const SALT = encoder.encode("api-gateway/idempotency-key/v1");
const INFO = encoder.encode("answer-aes256,answer-hmac-sha256,fingerprint-hmac-sha256");

interface Mac {
  update(data: Uint8Array): Mac;
  digest(): Uint8Array;
  clone(): Mac;
}
type Noble = {
  sha256: (data: Uint8Array) => Uint8Array;
  hmac: (hash: unknown, key: Uint8Array, message: Uint8Array) => Uint8Array;
  /** HKDF-Extract under SALT: the HMAC keyed with it, made once, cloned for each value (saves
   * keying it again: two of the request's ~27 SHA-256 blocks). */
  saltMac: Mac;
  expand: (hash: unknown, prk: Uint8Array, info: Uint8Array, length: number) => Uint8Array;
  bytesToHex: (bytes: Uint8Array) => string;
};
let noble: Promise<Noble> | undefined;

/** @noble/hashes (already the key's hash, kit/key.ts says why): synchronous, ~40 µs for the three
 * derivations. Web Crypto hands each of its five async operations to another thread (~60 µs
 * apiece, ~0.3 ms of a request's CPU under load: the bench measured 0.73x against requests
 * without the header). Loaded with the first request that sends the header. */
function loadNoble(): Promise<Noble> {
  noble ??= Promise.all([
    import("@noble/hashes/sha2.js"),
    import("@noble/hashes/hmac.js"),
    import("@noble/hashes/hkdf.js"),
    import("@noble/hashes/utils.js"),
  ]).then(([{ sha256 }, { hmac }, { expand }, { bytesToHex }]) =>
    ({
      sha256,
      hmac,
      saltMac: hmac.create(sha256, SALT),
      expand,
      bytesToHex,
    }) as unknown as Noble
  );
  return noble;
}

export async function idempotencyArguments(
  key: string,
  request: RequestIdentity,
): Promise<IdempotencyArguments> {
  const { sha256, hmac, saltMac, expand, bytesToHex } = await loadNoble();
  const value = encoder.encode(key);
  // HKDF-SHA-256 (RFC 5869): Extract (HMAC under the salt), then one Expand to the three keys.
  const derived = expand(sha256, saltMac.clone().update(value).digest(), INFO, 96);
  const fingerprint = hmac(
    sha256,
    derived.subarray(64, 96),
    encoder.encode(canonicalJson([
      request.method,
      request.path,
      request.params,
      request.query,
      request.body ?? null,
    ])),
  );
  return {
    p_idempotency_key_hash: bytesToHex(sha256(value)),
    p_fingerprint: bytesToHex(fingerprint),
    p_answer_key: bytesToHex(derived.subarray(0, 64)),
    p_method: request.method,
    p_path: request.path,
  };
}

/** JSON with every object's keys sorted: equal JSON values, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
