import type { Context } from "hono";
import { methodNotAllowed, routeNotFound } from "../errors.ts";

type RouteTable = { routes: { method: string; path: string }[] };

/** 405 with `Allow` when the path exists under another method, else 404 not_found. */
export function routeMiss(app: RouteTable) {
  return (c: Context): never => {
    const allowed = new Set<string>();
    for (const r of app.routes) {
      if (r.method === "ALL" || !matches(r.path, c.req.path)) continue;
      allowed.add(r.method);
      if (r.method === "GET") allowed.add("HEAD");
    }
    if (allowed.size > 0) {
      allowed.add("OPTIONS");
      const allow = [...allowed].sort().join(", ");
      throw methodNotAllowed(c.req.method, allow);
    }
    throw routeNotFound(c.req.method, c.req.path);
  };
}

/** Each route pattern's regex, compiled on the first miss that needs it, not on every one. */
const compiled = new Map<string, RegExp>();
function matches(pattern: string, path: string): boolean {
  let regex = compiled.get(pattern);
  if (!regex) {
    const source = pattern.split("/").map((part) =>
      part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    ).join("/");
    regex = new RegExp(`^${source}$`);
    compiled.set(pattern, regex);
  }
  return regex.test(path);
}
