/** Standard Webhooks signatures: `v1,` and the base64 of the HMAC-SHA256, keyed with the secret's
 * bytes (the base64 after `whsec_`), of `{webhook-id}.{webhook-timestamp}.{body}`. Several secrets
 * (a rotation's previous one, for 24 hours) give several signatures, separated by spaces, as the
 * specification's header allows. */
export async function signatures(
  secrets: string[],
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const content = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  const signed = await Promise.all(secrets.map(async (secret) => {
    const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey(
      "raw",
      raw,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
    return `v1,${btoa(String.fromCharCode(...mac))}`;
  }));
  return signed.join(" ");
}
