import type { Context } from "hono";
import { type ApiError, malformedJson, unsupportedMediaType } from "../errors.ts";

// application/json, or a +json type, with parameters: what Hono's JSON validator accepts.
const JSON_MEDIA_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** The request's JSON body, or the refusal it earns: 415 unless it is declared JSON, 400 unless
 * it parses. The refusal is returned, not thrown: the pipeline answers it only after the key has
 * been checked. */
export async function readJsonBody(c: Context): Promise<{ body: unknown } | { error: ApiError }> {
  const type = c.req.header("content-type");
  if (!type || !JSON_MEDIA_TYPE.test(type)) return { error: unsupportedMediaType() };
  try {
    return { body: await c.req.json() };
  } catch {
    return { error: malformedJson() };
  }
}
