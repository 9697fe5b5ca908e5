import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { invalidKey, routeNotFound } from "../errors.ts";
import { hashApiKey } from "../kit/key.ts";
import { urlPolicyOf } from "./checks.ts";
import { keyringOf } from "./secret_keys.ts";

/** POST /api-gateway/internal/dispatch-webhooks: the dispatcher's pool (webhooks/dispatch.ts)
 * until nothing more is due or 8 s of claiming have passed, for pg_cron (through pg_net) to call
 * every 10 seconds; whatever the receivers answer, 200 with what it did. `Authorization: Bearer
 * <WEBHOOK_DISPATCH_SECRET>`; without a configured secret the route does not exist (404). Not an
 * API route: no key, no rate limit, not in the OpenAPI document. */
export async function dispatchRoute(c: Context<AppEnv>): Promise<Response> {
  const deps = c.get("deps");
  const secret = deps.webhooks?.dispatchSecret;
  if (!secret) throw routeNotFound(c.req.method, c.req.path);
  const [scheme, token] = (c.req.header("authorization") ?? "").trim().split(/\s+/);
  // Compared as SHA-256 digests, whose comparison time says nothing about the secret.
  if (
    scheme?.toLowerCase() !== "bearer" || !token || !sameDigest(
      await hashApiKey(token),
      await hashApiKey(secret),
    )
  ) {
    throw invalidKey("Send the dispatch secret: `Authorization: Bearer <secret>`.", !!token);
  }
  const { dispatchUntilIdle } = await import("./dispatch.ts");
  const report = await dispatchUntilIdle({
    db: deps.db,
    urlPolicy: urlPolicyOf(c),
    secretKeyring: () => keyringOf(deps),
    fetch: deps.webhooks?.fetch,
    clock: deps.clock,
    log: deps.log,
    timeoutMs: deps.webhooks?.deliveryTimeoutMs,
  }, deps.webhooks?.dispatchBudgetMs);
  return c.json({ data: report });
}

function sameDigest(a: string, b: string): boolean {
  let differ = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    differ |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return differ === 0;
}
