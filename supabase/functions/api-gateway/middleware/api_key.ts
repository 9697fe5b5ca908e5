import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps.ts";
import { invalidKey } from "../errors.ts";
import { API_KEY_PATTERN, hashApiKey } from "../lib/api_key.ts";
import type { Permission } from "../permissions.ts";

/** `Authorization: Bearer wbk_...`, checked for shape without the database (a missing or
 * malformed key is 401 at once), then hashed: the plaintext goes no further than this function.
 * Whether the key exists, and holds `permission`, is the database's answer to the route's one
 * call. */
export function requireApiKey(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
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
    c.set("keyHash", await hashApiKey(token));
    c.set("permission", permission);
    await next();
  };
}
