/**
 * The OpenAPI 3.1 document, generated at build time from the route declarations (their zod
 * schemas and metadata) by @hono/zod-openapi's generator, which never loads in the deployed
 * function: `deno task openapi` writes it to supabase/functions/api-gateway/openapi.json, which
 * the function serves; tests/openapi fails when the committed file is stale.
 */
import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { ErrorCode } from "../../supabase/functions/api-gateway/errors.ts";
import type { AnyEndpoint } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import { BASE_PATH, PLATFORM_PREFIX } from "../../supabase/functions/api-gateway/paths.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { errorResponses, RATE_LIMIT_HEADERS } from "./responses.ts";

/** One operation of the document, from one endpoint's declaration. */
function operation(endpoint: AnyEndpoint) {
  const { request, response } = endpoint;
  const status = response.status ?? 200;
  return createRoute({
    method: endpoint.method,
    path: endpoint.path,
    operationId: endpoint.operationId,
    tags: endpoint.tags,
    summary: endpoint.summary,
    description: `${endpoint.description}\n\nRequires the \`${endpoint.permission}\` permission.`,
    security: [{ ApiKey: [] }],
    request: {
      ...(request.params ? { params: request.params } : {}),
      ...(request.query ? { query: request.query } : {}),
      ...(request.body
        ? {
          body: {
            required: true,
            content: {
              "application/json": {
                schema: request.body,
                ...(request.bodyExample ? { example: request.bodyExample } : {}),
              },
            },
          },
        }
        : {}),
    },
    responses: {
      [status]: {
        description: response.description,
        headers: RATE_LIMIT_HEADERS,
        ...(status === 204 ? {} : {
          content: {
            "application/json": {
              schema: response.schema,
              ...(response.example ? { example: response.example } : {}),
            },
          },
        }),
      },
      ...errorResponses(Object.keys(endpoint.errors ?? {}) as ErrorCode[], endpoint.permission),
    } as RouteConfig["responses"],
  });
}

/** The document for `endpoints` (every declared one by default). */
export function generateDocument(endpoints: AnyEndpoint[] = ENDPOINTS) {
  const api = new OpenAPIHono().basePath(BASE_PATH);
  for (const endpoint of endpoints) api.openapi(operation(endpoint), () => new Response());
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
    ],
  });
}

/** The generated document as the committed file holds it. */
export const documentText = () => JSON.stringify(generateDocument(), null, 2) + "\n";
