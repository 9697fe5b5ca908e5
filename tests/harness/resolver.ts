import type { Resolver } from "../../supabase/functions/api-gateway/webhooks/url_policy.ts";

/** A public address (TEST-NET ranges are not public, so these tests use one that is). */
export const PUBLIC_TEST_ADDRESS = "93.184.215.14";

/** The tests' name resolution: `*.example.com` is public, nothing else resolves, and no DNS query
 * ever leaves the machine. */
export const testResolver: Resolver = (hostname) =>
  Promise.resolve(hostname.endsWith(".example.com") ? [PUBLIC_TEST_ADDRESS] : []);

/** A fetch for apps that must never send a webhook: any call fails the test that made it. */
export const refusingFetch: typeof fetch = (input) => {
  throw new Error(`a webhook was sent to ${String(input)} where none may be`);
};
