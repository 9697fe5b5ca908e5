/**
 * The OpenAPI 3.1 document, generated at build time from the route declarations (their zod
 * schemas and metadata) by @hono/zod-openapi's generator, which never loads in the deployed
 * function: `deno task openapi` writes it to supabase/functions/api-gateway/openapi.generated.ts,
 * which the function serves; tests/openapi fails when the committed file is stale.
 */
import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { z } from "zod";
import type { ErrorCode } from "../../supabase/functions/api-gateway/errors.ts";
import {
  type AnyEndpoint,
  requestSchemas,
} from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import { BASE_PATH, PLATFORM_PREFIX } from "../../supabase/functions/api-gateway/paths.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { WEBHOOK_EVENT_TYPES } from "../../supabase/functions/api-gateway/webhooks/events.ts";
import { webhookEvents } from "../../supabase/functions/api-gateway/webhooks/schemas.ts";
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_METHODS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from "../../supabase/functions/api-gateway/kit/idempotency.ts";
import { errorResponses, RATE_LIMIT_HEADERS, REPLAYED_HEADERS } from "./responses.ts";

/** The header every write takes (docs/using-the-api.md, "Safe retries"). */
const idempotencyHeaders = () =>
  z.object({
    [IDEMPOTENCY_KEY_HEADER]: z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH).optional().meta({
      description: "Makes the request safe to retry: a retry with the same key and the same " +
        "request within 24 hours gets the first answer again (`Idempotent-Replayed: true`) and " +
        "nothing is done twice. 1 to 255 printable ASCII characters, bare or as a quoted string " +
        "(draft-ietf-httpapi-idempotency-key-header); use a new random UUID per request.",
      example: "8e03978e-40d5-43e8-bc93-6894a57f9324",
    }),
  });

/** One operation of the document, from one endpoint's declaration. */
function operation(endpoint: AnyEndpoint) {
  const { response, bodyExample } = endpoint;
  // The generator's own types want object schemas; the declarations give them.
  const request = requestSchemas(endpoint, z) as {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: z.ZodObject;
  };
  const status = response.status ?? 200;
  const write = IDEMPOTENT_METHODS.has(endpoint.method);
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
      ...(write ? { headers: idempotencyHeaders() } : {}),
      ...(request.body
        ? {
          body: {
            required: !endpoint.bodyOptional,
            content: {
              "application/json": {
                schema: request.body,
                ...(bodyExample ? { example: bodyExample } : {}),
              },
            },
          },
        }
        : {}),
    },
    responses: {
      [status]: {
        description: response.description,
        headers: write ? { ...RATE_LIMIT_HEADERS, ...REPLAYED_HEADERS } : RATE_LIMIT_HEADERS,
        ...(response.schema === undefined ? {} : {
          content: {
            "application/json": {
              schema: response.schema(z),
              ...(response.example ? { example: response.example } : {}),
            },
          },
        }),
      },
      ...errorResponses(Object.keys(endpoint.errors ?? {}) as ErrorCode[], endpoint.permission, {
        write,
      }),
    } as RouteConfig["responses"],
  });
}

/** The webhook events, as OpenAPI 3.1 `webhooks`: what a receiver is sent, and how it answers. */
function registerEvents(api: OpenAPIHono) {
  const events = webhookEvents(z);
  const header = (description: string) => z.string().meta({ description });
  for (const type of WEBHOOK_EVENT_TYPES) {
    api.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      operationId: type === "company.contacts_linked"
        ? "companyContactsLinked"
        : "companyContactsUnlinked",
      // The receiver authenticates the sender by the signature, not by a scheme of its own.
      security: [],
      summary: type === "company.contacts_linked"
        ? "Contacts were linked to a company"
        : "Contacts were unlinked from a company",
      description: "Written in the transaction that made the change, one per request that " +
        "changed at least one contact; delivered at least once, in no promised order. Verify " +
        "the signature (Standard Webhooks) before trusting the body.",
      tags: ["webhooks"],
      request: {
        headers: z.object({
          "webhook-id": header("The event's id: the same on every attempt. Deduplicate on it."),
          "webhook-timestamp": header("Unix seconds when this attempt was signed."),
          "webhook-signature": header(
            "`v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>`, space-separated when two " +
              "secrets sign (24 hours after a rotation).",
          ),
        }),
        body: { content: { "application/json": { schema: events[type] } } },
      },
      responses: {
        200: {
          description: "Any 2xx within 10 seconds acknowledges it. 410 turns the endpoint off; " +
            "anything else is retried (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).",
        },
      },
    });
  }
}

/** The document for `endpoints` (every declared one by default). */
export function generateDocument(endpoints: AnyEndpoint[] = ENDPOINTS) {
  const api = new OpenAPIHono().basePath(BASE_PATH);
  for (const endpoint of endpoints) api.openapi(operation(endpoint), () => new Response());
  registerEvents(api);
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
    tags: [
      { name: "contacts", description: "The workspace's contacts and their companies." },
      {
        name: "webhooks",
        description: "Endpoints that receive the workspace's events, signed per Standard " +
          "Webhooks (the `webhooks` section lists the events).",
      },
      {
        name: "api-keys",
        description: "The workspace's API keys: create (the key shown once), list, revoke, " +
          "rotate. A key grants only what it holds.",
      },
    ],
    servers: [
      {
        url: `https://{project_ref}.supabase.co${PLATFORM_PREFIX}`,
        description: "A deployed Supabase project",
        variables: { project_ref: { default: "your-project-ref" } },
      },
    ],
  });
}

/** The generated document, pretty-printed JSON. */
export const documentText = () => JSON.stringify(generateDocument(), null, 2) + "\n";

/** The committed module that holds it: its JSON as the default export. */
export const documentModule = () =>
  "// Generated by `deno task openapi` from the route declarations (local/openapi/document.ts).\n" +
  "// Do not edit: tests/openapi/document.test.ts fails when this is not what they generate.\n" +
  `export default ${documentText().trimEnd()};\n`;
