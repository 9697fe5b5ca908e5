/** A new signing secret, as Standard Webhooks writes them: `whsec_` and the base64 of 32 bytes
 * from a CSPRNG. The key the signature uses is those bytes. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}
