import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MAX_BODY_BYTES } from "./limits.ts";

/** Every error code the gateway answers with, its status and what it means: the one table the
 * responses, the OpenAPI document and the tests are built from. Clients may switch on the codes. */
export const ERRORS = {
  validation_error: { status: 400, means: "the path, query, body or JSON is invalid" },
  invalid_key: {
    status: 401,
    means: "missing, malformed, unknown, revoked or expired API key (see WWW-Authenticate)",
  },
  insufficient_permissions: { status: 403, means: "the key lacks the route's permission" },
  company_not_found: {
    status: 404,
    means: "no such company in the key's workspace (another workspace's looks the same)",
  },
  not_found: { status: 404, means: "no such route" },
  method_not_allowed: { status: 405, means: "the path exists under another method (see Allow)" },
  payload_too_large: { status: 413, means: `body over ${MAX_BODY_BYTES / 1024} KiB` },
  unsupported_media_type: { status: 415, means: "the body is not declared application/json" },
  rate_limited: {
    status: 429,
    means: "the workspace's minute or day quota is spent; nothing was done (see Retry-After)",
  },
  internal_error: { status: 500, means: "unexpected; quote X-Request-ID" },
  service_unavailable: {
    status: 503,
    means: "the database cannot be reached or timed out (see Retry-After)",
  },
} as const satisfies Record<string, { status: ContentfulStatusCode; means: string }>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === "string" && Object.hasOwn(ERRORS, code);

export type IssueDetail = { path: string; code: string; message: string; in?: string };

/** The one error type: anything the gateway answers with other than 2xx is one of these. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: IssueDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERRORS[code].status;
  }
}

/** 401. `presented`: a bearer token was sent but is not valid, which RFC 6750 marks with
 * error="invalid_token"; a request without one gets the bare challenge. */
export const invalidKey = (message: string, presented = false) =>
  new ApiError("invalid_key", message, undefined, {
    "WWW-Authenticate": presented
      ? 'Bearer realm="api-gateway", error="invalid_token"'
      : 'Bearer realm="api-gateway"',
  });

/** 401 for a well-formed key the database does not accept. */
export const unknownKey = () =>
  invalidKey("Invalid API key: it is unknown, revoked or expired.", true);

export const missingPermission = (permission: string) =>
  new ApiError(
    "insufficient_permissions",
    `This API key lacks the required permission: ${permission}.`,
  );

/** 429, naming the window that refused and when it resets. */
export const rateLimited = (window: "minute" | "day", limit: number, resetIn: number) =>
  new ApiError(
    "rate_limited",
    `Rate limit exceeded: this workspace's ${window === "day" ? "daily" : "per-minute"} ` +
      `quota of ${limit} requests is spent. Retry after ${resetIn} seconds.`,
    undefined,
    { "Retry-After": String(Math.max(1, resetIn)) },
  );

export const companyNotFound = (id: string) =>
  new ApiError("company_not_found", `No company ${id} in this workspace.`);

export const serviceUnavailable = () =>
  new ApiError(
    "service_unavailable",
    "The service is temporarily unavailable. Retry after a few seconds.",
    undefined,
    { "Retry-After": "5" },
  );

export const internalError = () =>
  new ApiError("internal_error", "An unexpected error occurred. Quote the request id.");

export const payloadTooLarge = () =>
  new ApiError("payload_too_large", `Request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`);

export const unsupportedMediaType = () =>
  new ApiError(
    "unsupported_media_type",
    "Send the request body as JSON with `Content-Type: application/json`.",
  );

export const malformedJson = () =>
  new ApiError("validation_error", "Request body is not valid JSON.");

/** Hono's own HTTP errors (body limit, malformed JSON, media type) mapped onto our codes. */
function fromHttpException(err: HTTPException): ApiError | null {
  switch (err.status) {
    case 400:
      return malformedJson();
    case 413:
      return payloadTooLarge();
    case 415:
      return unsupportedMediaType();
    default:
      return null;
  }
}

/** The ApiError a thrown value stands for, or null when it is unexpected (a 500). */
export function asApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) return fromHttpException(err);
  return null;
}

/** What an unexpected error may say in a log line: its class, its SQLSTATE-like code and where
 * it was thrown. Never its message: messages can quote user input, rows or SQL. */
export function describeCause(err: unknown): Record<string, unknown> {
  const e = err as { name?: unknown; code?: unknown; status?: unknown; stack?: unknown };
  const frames = typeof e?.stack === "string"
    ? e.stack.split("\n").filter((l) => /^\s+at /.test(l)).slice(0, 8).map((l) => l.trim())
    : [];
  return {
    name: err instanceof Error ? err.name : typeof err,
    code: typeof e?.code === "string" || typeof e?.code === "number" ? e.code : null,
    ...(typeof e?.status === "number" ? { status: e.status } : {}),
    frames,
  };
}

/** The single place that turns errors into responses. An unexpected error is answered 500 and
 * its cause kept on the context for the request's one log line. */
export function errorResponse(c: Context, err: unknown): Response {
  let apiError = asApiError(err);
  if (!apiError) {
    c.set("errorCause", describeCause(err));
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

/** Where a zod issue came from, as clients name it. */
export type InputSource = "path" | "query" | "body";

/** zod issues as the envelope's details: every issue, with a dotted path and its source. */
export function validationError(
  issues: readonly { path: PropertyKey[]; code: string; message: string }[],
  where: InputSource,
): ApiError {
  // An unknown key is reported at its own path, so clients can point at the offending field.
  const details = issues.flatMap((i) => {
    const keys = (i as { keys?: string[] }).keys;
    const paths = i.code === "unrecognized_keys" && keys?.length
      ? keys.map((k) => [...i.path, k])
      : [i.path];
    return paths.map((p) => ({
      path: p.map(String).join("."),
      code: i.code,
      message: i.message,
      in: where,
    }));
  });
  const first = details[0];
  const summary = first
    ? `${first.path ? `${first.path}: ` : ""}${first.message}`
    : "Invalid request";
  return new ApiError("validation_error", `Invalid request ${where}. ${summary}`, details);
}
