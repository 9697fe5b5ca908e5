import type { GatewayApp } from "../../supabase/functions/api-gateway/app.ts";

export const linkPath = (companyId: string) =>
  `/api-gateway/v1/companies/${companyId}/contacts/link`;

/** POST a link request the way a client would; `body` objects are JSON-encoded. */
export async function postLink(
  app: GatewayApp,
  companyId: string,
  body: unknown,
  opts: { key?: string | null; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  Object.assign(headers, opts.headers);
  const res = await app.request(linkPath(companyId), {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  // deno-lint-ignore no-explicit-any
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
