import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;.*)?$/i;

/** 415 unless the body is declared JSON, 400 unless it parses. The parsed body is cached by
 * Hono, so the zod validator that runs next does not read it again. */
export const requireJsonBody: MiddlewareHandler = async (c, next) => {
  const type = c.req.header("content-type");
  if (!type || !JSON_MEDIA_TYPE.test(type.trim())) {
    throw new ApiError(
      415,
      "unsupported_media_type",
      "Send the request body as JSON with `Content-Type: application/json`.",
    );
  }
  try {
    await c.req.json();
  } catch {
    throw new ApiError(400, "validation_error", "Request body is not valid JSON.");
  }
  await next();
};
