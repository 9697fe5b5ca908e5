import type { MiddlewareHandler } from "hono";

/** `Cache-Control: no-store` on every answer: they carry contacts' personal data and a
 * workspace's quota, which no shared or browser cache may keep. */
export const noStore: MiddlewareHandler = async (c, next) => {
  c.header("Cache-Control", "no-store");
  await next();
};
