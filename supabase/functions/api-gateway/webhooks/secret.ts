import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { keyringOf } from "./secret_keys.ts";

/** A new signing secret, as Standard Webhooks writes them: `whsec_` and the base64 of 32 bytes
 * from a CSPRNG. The key the signature uses is those bytes. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/** A new secret, encrypted (webhooks/secret_keys.ts): all the SQL function is given and stores. */
export async function newStoredSecret(c: Context<AppEnv>): Promise<string> {
  return await (await keyringOf(c.get("deps"))).encrypt(newWebhookSecret());
}

/** The secret the SQL function stored, decrypted for the one answer that shows it (create,
 * rotate): the answer is rebuilt from the function's result alone, a replay's too. */
export async function shownSecret(stored: string, c: Context<AppEnv>): Promise<string> {
  return await (await keyringOf(c.get("deps"))).decrypt(stored);
}
