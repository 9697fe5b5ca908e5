import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv, Logger } from "../context.ts";

/** One JSON line per request, written when it ends: the route pattern rather than the raw path
 * (which carries ids), the org and key prefix once the database has resolved the key, and for a
 * 500 the cause. Never headers, the query string or the body: they may carry a key. */
export function accessLog(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const outcome = c.get("outcome");
    const cause = c.get("errorCause");
    log({
      level: c.res.status >= 500 ? "error" : "info",
      msg: "request",
      request_id: c.get("requestId"),
      method: c.req.method,
      route: routePattern(c),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      org_id: outcome?.org_id ?? null,
      key_prefix: outcome?.key_prefix ?? null,
      ...(cause ? { error: cause } : {}),
    });
  };
}

/** The pattern of the route that answered (`/api-gateway/v1/companies/:id/contacts/link`), or
 * null when none did (404, 405, preflight). App-wide middleware is registered for every method. */
function routePattern(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string | null {
  const routes = matchedRoutes(c).filter((r) => r.method !== "ALL");
  return routes.at(-1)?.path ?? null;
}
