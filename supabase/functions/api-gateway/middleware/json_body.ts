import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps.ts";
import { malformedJson, unsupportedMediaType } from "../errors.ts";
import { refuseInput } from "../kit/authorize.ts";

// The same rule as Hono's JSON validator, which runs next: whatever passes here passes there.
const JSON_MEDIA_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** 415 unless the body is declared JSON, 400 unless it parses; either only after the key has
 * been checked (refuseInput). The parsed body is cached by Hono, so the zod validator that runs
 * next does not read it again. */
export const requireJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header("content-type");
  if (!type || !JSON_MEDIA_TYPE.test(type)) await refuseInput(c, unsupportedMediaType());
  try {
    await c.req.json();
  } catch {
    await refuseInput(c, malformedJson());
  }
  await next();
};
