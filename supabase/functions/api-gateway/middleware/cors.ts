import type { MiddlewareHandler } from "hono";

export interface CorsOptions {
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number;
}

/** CORS for any origin (`*`); every OPTIONS is a preflight, answered 204 without auth or
 * database. The same headers as hono/cors with `origin: "*"`, set with `c.header()`: hono/cors
 * writes them on `c.res` before the handler runs, which makes Hono build a placeholder Response
 * and copy every header twice more into the real one, about a quarter of the app's own CPU per
 * request. */
export function cors(opts: CorsOptions): MiddlewareHandler {
  const expose = opts.exposeHeaders.join(",");
  const methods = opts.allowMethods.join(",");
  const headers = opts.allowHeaders.join(",");
  const maxAge = String(opts.maxAge);
  return async (c, next) => {
    c.header("Access-Control-Allow-Origin", "*");
    c.header("Access-Control-Expose-Headers", expose);
    if (c.req.method === "OPTIONS") {
      c.header("Access-Control-Max-Age", maxAge);
      c.header("Access-Control-Allow-Methods", methods);
      c.header("Access-Control-Allow-Headers", headers);
      c.header("Vary", "Access-Control-Request-Headers");
      return c.body(null, 204);
    }
    await next();
  };
}
