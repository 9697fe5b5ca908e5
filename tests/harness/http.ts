import type { GatewayApp } from "../../supabase/functions/api-gateway/app.ts";
import type { AnyEndpoint } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { BASE_PATH } from "../../supabase/functions/api-gateway/paths.ts";

/** A request to one route, as the route test kit describes it. */
export interface RouteRequest {
  params: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

/** The in-app path of an endpoint (`/api-gateway/v1/...`) with its params filled in. */
export function routePath(
  endpoint: AnyEndpoint,
  params: Record<string, string>,
  query?: Record<string, string>,
): string {
  const path = endpoint.path.replace(/\{(\w+)\}/g, (_, name) => {
    if (!(name in params)) throw new Error(`no value for {${name}} in ${endpoint.path}`);
    return encodeURIComponent(params[name]);
  });
  const qs = query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : "";
  return `${BASE_PATH}${path}${qs}`;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** Sends a request the way a client would: `body` objects are JSON-encoded (with a JSON
 * content type), strings sent as they are; `key` becomes `Authorization: Bearer <key>`. */
export async function send(
  app: GatewayApp,
  method: string,
  path: string,
  opts: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  Object.assign(headers, opts.headers);
  const res = await app.request(path, {
    method: method.toUpperCase(),
    headers,
    body: opts.body === undefined
      ? undefined
      : typeof opts.body === "string"
      ? opts.body
      : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Sends a route request. */
export function sendRoute(
  app: GatewayApp,
  endpoint: AnyEndpoint,
  req: RouteRequest,
  opts: { key?: string | null; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  return send(app, endpoint.method, routePath(endpoint, req.params, req.query), {
    body: "body" in opts ? opts.body : req.body,
    key: opts.key,
    headers: opts.headers,
  });
}
