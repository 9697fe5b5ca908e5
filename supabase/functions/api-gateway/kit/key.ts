import { createHash } from "node:crypto";

/** `wbk_` + 52 characters of [0-9a-zA-Z] (about 309 bits from a CSPRNG). */
export const API_KEY_PATTERN = /^wbk_[0-9A-Za-z]{52}$/;
export const API_KEY_PREFIX_LENGTH = 12;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Lowercase hex SHA-256 of the whole key string: what api_keys.key_hash stores. node:crypto
 * (synchronous, native) rather than Web Crypto: crypto.subtle.digest is an async op handed to a
 * worker thread, about 0.1 ms of the gateway's CPU per request under load against ~1 µs here.
 * Kept async so callers need not change. */
export function hashApiKey(key: string): Promise<string> {
  return Promise.resolve(createHash("sha256").update(key, "utf8").digest("hex"));
}

/** A new key. Rejection sampling keeps every character equally likely. */
export function generateApiKey(): string {
  const out: string[] = [];
  while (out.length < 52) {
    for (const byte of crypto.getRandomValues(new Uint8Array(64))) {
      // 248 = 4 * 62: bytes at or above it would favour the first characters.
      if (byte < 248 && out.length < 52) out.push(ALPHABET[byte % 62]);
    }
  }
  return `wbk_${out.join("")}`;
}
