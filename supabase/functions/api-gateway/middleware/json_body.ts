import type { MiddlewareHandler } from "hono";
import { ApiError, unsupportedMediaType } from "../errors.ts";

// The same rule as Hono's JSON validator, which runs next: whatever passes here passes there.
const JSON_MEDIA_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** 415 unless the body is declared JSON, 400 unless it parses. The parsed body is cached by
 * Hono, so the zod validator that runs next does not read it again. */
export const requireJsonBody: MiddlewareHandler = async (c, next) => {
  const type = c.req.header("content-type");
  if (!type || !JSON_MEDIA_TYPE.test(type)) throw unsupportedMediaType();
  try {
    await c.req.json();
  } catch {
    throw new ApiError(400, "validation_error", "Request body is not valid JSON.");
  }
  await next();
};
