import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./deps.ts";
import { MAX_BODY_BYTES } from "./limits.ts";
import { PLATFORM_PREFIX } from "./paths.ts";

/** The OpenAPI 3.1 document, generated from the zod schemas that validate the requests. */
export function openApiDocument(
  api: OpenAPIHono<AppEnv>,
  extraServers: { url: string; description: string }[] = [],
) {
  api.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "wbk_ followed by 52 letters and digits",
  });
  return api.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "LeadLex API gateway",
      version: "1.0.0",
      description: "Authenticate with `Authorization: Bearer wbk_...`. Errors use one envelope: " +
        '`{"error": {"code", "message", "details"?}}`. Every response carries `X-Request-ID`; ' +
        "every answer to a request with a valid key carries the workspace's rate-limit state " +
        "(`X-RateLimit-*`, `RateLimit-Policy`, `RateLimit`). On 429, wait `Retry-After` seconds. " +
        `Bodies are limited to ${MAX_BODY_BYTES / 1024} KiB.`,
    },
    // Every operation's tags, described (redocly's operation-tag-defined).
    tags: [{ name: "contacts", description: "The workspace's contacts and their companies." }],
    servers: [
      {
        url: `https://{project_ref}.supabase.co${PLATFORM_PREFIX}`,
        description: "A deployed Supabase project",
        variables: { project_ref: { default: "your-project-ref" } },
      },
      ...extraServers,
    ],
  });
}
