import type { MiddlewareHandler } from "hono";
import { ApiError, invalidKey } from "../errors.ts";
import type { AppEnv } from "../deps.ts";
import { API_KEY_PATTERN, hashApiKey } from "../lib/api_key.ts";

const TOUCH_INTERVAL_MS = 60_000;

/** Resolves `Authorization: Bearer wbk_...` to the key's org and checks the route's scope. */
export function requireApiKey(scope: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { db, defer, log } = c.get("deps");
    const header = c.req.header("authorization");
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
    if (rest.length > 0 || !API_KEY_PATTERN.test(token)) {
      throw invalidKey(
        "Malformed API key. Keys look like `wbk_` followed by 52 letters and digits.",
        true,
      );
    }
    // The lookup is by hash: the plaintext never leaves this function, and comparing hashes in
    // an indexed equality lookup leaks nothing useful about the stored keys.
    const key = await db.authenticate(await hashApiKey(token));
    if (!key) throw invalidKey("Invalid API key: it is unknown, revoked or expired.", true);

    if (!key.permissions.includes(scope)) {
      throw new ApiError(
        403,
        "insufficient_permissions",
        `This API key lacks the required permission: ${scope}.`,
      );
    }
    c.set("apiKey", key);
    await next();

    // Only successful calls count as a use, so a rejected request leaves the database exactly
    // as it was. At most one write a minute per key; it must never fail or slow the request.
    const last = key.lastUsedAt?.getTime();
    if (c.res.status < 400 && (last === undefined || Date.now() - last >= TOUCH_INTERVAL_MS)) {
      defer(
        db.touchApiKey(key.keyId).catch((err) => {
          log({
            level: "warn",
            msg: "could not record API key use",
            request_id: c.get("requestId"),
            error: err instanceof Error ? err.name : typeof err,
          });
        }),
      );
    }
  };
}
