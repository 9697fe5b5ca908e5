/**
 * Webhook signing secrets at rest: the database holds each one (current and previous) encrypted
 * with AES-256-GCM (WebCrypto) under a key it never sees, WEBHOOK_SECRETS_KEYS in the function's
 * environment, so a dump or a backup cannot sign a delivery.
 *
 * WEBHOOK_SECRETS_KEYS is a comma-separated list of `<key id>:<base64 of 32 bytes>`. The first
 * entry encrypts; every entry decrypts, so after a rotation (a new entry put first) the secrets
 * stored under the older key keep working until `deno task secrets reencrypt` moves them.
 *
 * Stored form: `whenc_v1.<key id>.<base64url(iv || ciphertext and tag)>`, a fresh 12-byte IV per
 * encryption; `whenc_v1.<key id>` is the additional data, so a ciphertext cannot be passed off as
 * another key's or version's. The check constraints of public.webhook_endpoints hold the form.
 *
 * Parsed on first use (keyringOf), not at start-up: a cold start pays nothing, and a deploy
 * without the variable fails at its first webhook operation, loudly, while every other endpoint
 * keeps working.
 */
import type { Logger } from "../context.ts";

export const SECRETS_KEYS_VARIABLE = "WEBHOOK_SECRETS_KEYS";
const VERSION = "whenc_v1";
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const STORED = /^whenc_v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{40,255})$/;
/** What the table held before the secrets were encrypted (`task secrets reencrypt` takes it). */
export const LEGACY_PLAINTEXT = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;
const IV_BYTES = 12;

/** The key is missing or malformed, or a ciphertext names a key the ring lacks. The message names
 * the variable and the key id, never a key's value or a secret. */
export class SecretsKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookSecretsKeyError";
  }
}

export interface SecretKeyring {
  /** The id of the key new ciphertexts are made under (the first entry). */
  readonly currentKid: string;
  encrypt(secret: string): Promise<string>;
  decrypt(stored: string): Promise<string>;
  /** Whether `stored` is a ciphertext under the current key (nothing to re-encrypt). */
  isCurrent(stored: string): boolean;
}

/** The keyring from WEBHOOK_SECRETS_KEYS' value. */
export async function parseKeyring(value: string | undefined): Promise<SecretKeyring> {
  const text = value?.trim() ?? "";
  if (text === "") {
    throw new SecretsKeyError(
      `${SECRETS_KEYS_VARIABLE} is not set: webhook signing secrets are encrypted under it, so ` +
        "no webhook endpoint can be created, rotated or delivered to (docs/deploying.md).",
    );
  }
  const keys = new Map<string, CryptoKey>();
  let currentKid = "";
  for (const [i, entry] of text.split(",").entries()) {
    const at = entry.indexOf(":");
    const kid = entry.slice(0, at).trim();
    const where = `${SECRETS_KEYS_VARIABLE}, entry ${i + 1}`;
    if (at < 0 || !KID.test(kid)) {
      throw new SecretsKeyError(
        `${where}: expected <key id>:<base64 of 32 bytes>, the id of 1 to 32 letters, digits, ` +
          "- or _.",
      );
    }
    if (keys.has(kid)) throw new SecretsKeyError(`${where}: key id ${kid} is given twice.`);
    const raw = fromBase64(entry.slice(at + 1).trim());
    if (raw?.length !== 32) {
      throw new SecretsKeyError(`${where} (${kid}): the key is not the base64 of 32 bytes.`);
    }
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(kid, key);
    currentKid ||= kid;
  }
  const aad = (kid: string) => new TextEncoder().encode(`${VERSION}.${kid}`);

  return {
    currentKid,
    async encrypt(secret) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: "AES-GCM", iv, additionalData: aad(currentKid) },
          keys.get(currentKid)!,
          new TextEncoder().encode(secret),
        ),
      );
      const out = new Uint8Array(IV_BYTES + sealed.length);
      out.set(iv);
      out.set(sealed, IV_BYTES);
      return `${VERSION}.${currentKid}.${toBase64Url(out)}`;
    },
    async decrypt(stored) {
      const m = STORED.exec(stored);
      if (!m) throw new SecretsKeyError("A stored webhook secret is not in the encrypted form.");
      const [, kid, body] = m;
      const key = keys.get(kid);
      if (!key) {
        throw new SecretsKeyError(
          `A webhook secret is encrypted under key id ${kid}, which ${SECRETS_KEYS_VARIABLE} ` +
            "does not hold: put it back (after the current key) and run the re-encrypt command.",
        );
      }
      const bytes = fromBase64Url(body);
      try {
        return new TextDecoder().decode(
          await crypto.subtle.decrypt(
            { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData: aad(kid) },
            key,
            bytes.subarray(IV_BYTES),
          ),
        );
      } catch {
        throw new SecretsKeyError(
          `A webhook secret does not decrypt under key id ${kid}: ${SECRETS_KEYS_VARIABLE} holds ` +
            "another key under that id, or the stored value was altered.",
        );
      }
    },
    isCurrent: (stored) => STORED.exec(stored)?.[1] === currentKid,
  };
}

/** A new entry for WEBHOOK_SECRETS_KEYS: `<kid>:<base64 of 32 random bytes>`. */
export function newKeyEntry(kid: string): string {
  if (!KID.test(kid)) throw new SecretsKeyError(`Key id ${JSON.stringify(kid)} is not valid.`);
  return `${kid}:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

/** The stored secrets of a claimed delivery, decrypted for signing: the one place they are. */
export function decryptSecrets(stored: string[], keyring: SecretKeyring): Promise<string[]> {
  return Promise.all(stored.map((s) => keyring.decrypt(s)));
}

const rings = new WeakMap<object, Promise<SecretKeyring>>();

/** The app's keyring, parsed on first use and kept for the app's life (the environment does not
 * change under a running isolate). A missing or malformed key, or a stored secret that does not
 * decrypt (its key id dropped from the variable), is logged each time, naming the variable and the
 * key id, and thrown: the request is a 500, the delivery goes again later, nothing is written. */
export async function keyringOf(
  deps: { log: Logger; webhooks?: { secretsKeys?: string } },
): Promise<SecretKeyring> {
  const said = (err: unknown): never => {
    deps.log({ level: "error", msg: (err as Error).message, error: (err as Error).name });
    throw err;
  };
  let ring = rings.get(deps);
  if (!ring) {
    ring = parseKeyring(deps.webhooks?.secretsKeys).then((keys) => ({
      ...keys,
      decrypt: (stored: string) => keys.decrypt(stored).catch(said),
    }));
    ring.catch(() => {});
    rings.set(deps, ring);
  }
  return await ring.catch(said);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(b64 + "=".repeat((4 - b64.length % 4) % 4)) ?? new Uint8Array();
}
