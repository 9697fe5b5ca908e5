import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error code the gateway can answer with; clients may switch on these. */
export const ERROR_CODES = [
  "validation_error",
  "invalid_key",
  "insufficient_permissions",
  "company_not_found",
  "not_found",
  "method_not_allowed",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "internal_error",
  "service_unavailable",
] as const;
export type ErrorCode = typeof ERROR_CODES[number];

export type IssueDetail = { path: string; code: string; message: string };

/** The one error type: anything the gateway answers with other than 2xx is one of these. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: IssueDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** 401. `presented`: a bearer token was sent but is not valid, which RFC 6750 marks with
 * error="invalid_token"; a request without one gets the bare challenge. */
export const invalidKey = (message: string, presented = false) =>
  new ApiError(401, "invalid_key", message, undefined, {
    "WWW-Authenticate": presented
      ? 'Bearer realm="api-gateway", error="invalid_token"'
      : 'Bearer realm="api-gateway"',
  });

export const serviceUnavailable = () =>
  new ApiError(
    503,
    "service_unavailable",
    "The service is temporarily unavailable. Retry after a few seconds.",
    undefined,
    { "Retry-After": "5" },
  );

export const internalError = () =>
  new ApiError(500, "internal_error", "An unexpected error occurred. Quote the request id.");

/** Hono's own HTTP errors (body limit, malformed JSON) mapped onto our codes. */
function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      return new ApiError(400, "validation_error", "Request body is not valid JSON.");
    case 413:
      return payloadTooLarge();
    case 415:
      // Hono's JSON validator has its own media-type gate; requireJsonBody uses the same rule,
      // so this is a safety net should the two ever drift apart.
      return unsupportedMediaType();
    default:
      return internalError();
  }
}

export const payloadTooLarge = () =>
  new ApiError(413, "payload_too_large", "Request body is larger than 64 KiB.");

export const unsupportedMediaType = () =>
  new ApiError(
    415,
    "unsupported_media_type",
    "Send the request body as JSON with `Content-Type: application/json`.",
  );

export type Logger = (entry: Record<string, unknown>) => void;

/** The single place that turns errors into responses. */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  let apiError: ApiError;
  if (err instanceof ApiError) {
    apiError = err;
  } else if (err instanceof HTTPException) {
    apiError = fromHttpException(err);
  } else {
    // Only the error's class and SQLSTATE-like code: messages can carry user data or SQL.
    log({
      level: "error",
      msg: "unhandled error",
      request_id: c.get("requestId"),
      error: err instanceof Error ? err.name : typeof err,
      code: (err as { code?: unknown })?.code ?? null,
    });
    apiError = internalError();
  }
  for (const [name, value] of Object.entries(apiError.headers)) c.header(name, value);
  const body: { code: ErrorCode; message: string; details?: IssueDetail[] } = {
    code: apiError.code,
    message: apiError.message,
  };
  if (apiError.details) body.details = apiError.details;
  return c.json({ error: body }, apiError.status);
}

/** zod issues as the envelope's details: every issue, with a dotted path. */
export function validationError(
  issues: readonly { path: PropertyKey[]; code: string; message: string }[],
  where: "body" | "path",
): ApiError {
  // An unknown key is reported at its own path, so clients can point at the offending field.
  const details = issues.flatMap((i) => {
    const keys = (i as { keys?: string[] }).keys;
    const paths = i.code === "unrecognized_keys" && keys?.length
      ? keys.map((k) => [...i.path, k])
      : [i.path];
    return paths.map((p) => ({ path: p.map(String).join("."), code: i.code, message: i.message }));
  });
  const first = details[0];
  const summary = first
    ? `${first.path ? `${first.path}: ` : ""}${first.message}`
    : "Invalid request";
  return new ApiError(400, "validation_error", `Invalid request ${where}. ${summary}`, details);
}

// ---- OpenAPI: the envelope, listed on every route ----

export const ErrorSchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES).openapi({ example: "validation_error" }),
    message: z.string().openapi({ example: "Invalid request body. contact_ids.3: Invalid UUID" }),
    details: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() }))
      .optional(),
  }),
}).openapi("Error");

export const described = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

/** Spread into every route's responses so the document lists every status. */
export const commonErrorResponses = {
  400: described("validation_error: the path, body or JSON is invalid"),
  401: described("invalid_key: missing, malformed, unknown, revoked or expired API key"),
  403: described("insufficient_permissions: the key lacks the route's scope"),
  404: described("not_found, or the resource's own not-found code"),
  405: described("method_not_allowed: see the Allow header"),
  413: described("payload_too_large: body over 64 KiB"),
  415: described("unsupported_media_type: body is not application/json"),
  500: described("internal_error: unexpected; quote X-Request-ID"),
  503: described("service_unavailable: the database cannot be reached; see Retry-After"),
} as const;
