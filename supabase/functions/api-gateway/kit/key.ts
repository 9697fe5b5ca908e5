import { invalidKey } from "../errors.ts";

/** An API key: `wbk_`, 46 characters from a CSPRNG, then a 6-character checksum (the CRC32 of
 * the first 50 characters in base 62), all of [0-9A-Za-z]. The checksum lets the gateway refuse
 * a mistyped or made-up key without a database call, and lets secret scanners recognise a real
 * one. */
export const API_KEY_PATTERN = /^wbk_[0-9A-Za-z]{52}$/;
export const API_KEY_PREFIX_LENGTH = 12;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LENGTH = 46;
const CHECKSUM_LENGTH = 6;

/** CRC-32 (IEEE 802.3, as zlib computes it) of an ASCII string, bit by bit: a key's 50
 * characters take ~1 µs, and no table is built at start-up (a loop run at import is compiled by
 * V8's optimizing tier there and then, which cost the cold start a few MB of memory). */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i);
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The checksum of a key's first 50 characters: their CRC32 in base 62 (digits, capitals, small
 * letters), most significant digit first, left-padded with `0` to 6 characters. */
export function keyChecksum(first50: string): string {
  let value = crc32(first50);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** Whether `key` has the shape of a key the gateway could have minted, checksum included. */
export function isWellFormedKey(key: string): boolean {
  if (!API_KEY_PATTERN.test(key)) return false;
  const cut = key.length - CHECKSUM_LENGTH;
  return keyChecksum(key.slice(0, cut)) === key.slice(cut);
}

let noble: Promise<(key: string) => string> | undefined;

/** Lowercase hex SHA-256 of the whole key string: what api_keys.key_hash stores. @noble/hashes
 * (audited, pure JS, synchronous: ~3 µs for a key) rather than node:crypto (~1 µs, but importing
 * it starts Deno's Node compatibility layer: ~29 ms and 6 MB on every cold start) or Web Crypto
 * (an async digest handed to another thread: ~35 µs and ~0.1 ms of CPU a request under load).
 * Loaded with the first key to hash: a keyless or malformed request needs none. */
export async function hashApiKey(key: string): Promise<string> {
  noble ??= Promise.all([import("@noble/hashes/sha2.js"), import("@noble/hashes/utils.js")])
    .then(([{ sha256 }, { bytesToHex, utf8ToBytes }]) => (text: string) =>
      bytesToHex(sha256(utf8ToBytes(text)))
    );
  return (await noble)(key);
}

/** A new key. Rejection sampling keeps every character equally likely. */
export function generateApiKey(): string {
  const out: string[] = [];
  while (out.length < RANDOM_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(64))) {
      // 248 = 4 * 62: bytes at or above it would favour the first characters.
      if (byte < 248 && out.length < RANDOM_LENGTH) out.push(ALPHABET[byte % 62]);
    }
  }
  const first50 = `wbk_${out.join("")}`;
  return first50 + keyChecksum(first50);
}

/** The hash of the key an `Authorization: Bearer wbk_...` header presents. A missing, malformed
 * or mistyped key (its checksum fails) is 401 at once, without the database; the plaintext goes
 * no further than this function. Whether the key exists and holds the route's permission is the
 * database's answer to the request's one call. */
export function presentedKeyHash(header: string | undefined): Promise<string> {
  if (header === undefined || header.trim() === "") {
    throw invalidKey("Missing API key. Send `Authorization: Bearer wbk_...`.");
  }
  const [scheme, token, ...rest] = header.trim().split(/\s+/);
  if (scheme.toLowerCase() !== "bearer") {
    throw invalidKey("Unsupported authorization scheme. Send `Authorization: Bearer wbk_...`.");
  }
  if (token === undefined) {
    throw invalidKey("Missing API key after `Bearer`. Send `Authorization: Bearer wbk_...`.");
  }
  if (rest.length > 0 || !isWellFormedKey(token)) {
    throw invalidKey(
      "Malformed API key. Keys look like `wbk_` followed by 52 letters and digits, the last 6 " +
        "a checksum: check it was copied whole.",
      true,
    );
  }
  return hashApiKey(token);
}
