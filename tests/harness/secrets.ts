// The tests' WEBHOOK_SECRETS_KEYS: a fixed key (not a secret: these databases are throwaway), so
// that what a test stores directly, the app's answers and the dispatcher all agree on it.
import {
  parseKeyring,
  type SecretKeyring,
} from "../../supabase/functions/api-gateway/webhooks/secret_keys.ts";
import { newWebhookSecret } from "../../supabase/functions/api-gateway/webhooks/secret.ts";

export const TEST_SECRETS_KEYS = "test-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
export const testKeyring: SecretKeyring = await parseKeyring(TEST_SECRETS_KEYS);
export const testSecretKeyring = () => Promise.resolve(testKeyring);

/** A secret as the table stores it (encrypted under the tests' key), and the secret itself. */
export async function storedSecret(secret = newWebhookSecret()) {
  return { secret, stored: await testKeyring.encrypt(secret) };
}
