import type { MiddlewareHandler } from "hono";
import type { Logger } from "../errors.ts";
import type { AppEnv } from "../deps.ts";

/** One line per request. Never the headers or the query string: they may carry a key. */
export function accessLog(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    log({
      level: "info",
      msg: "request",
      request_id: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}
