import type { Context } from "hono";
import {
  type ApiError,
  malformedJson,
  MAX_DETAILS,
  unsupportedMediaType,
  validationError,
} from "../errors.ts";
import { unknownTopLevelFields } from "./body_fields.ts";

// application/json, or a +json type, with parameters: what Hono's JSON validator accepts.
const JSON_MEDIA_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** Bodies up to this size are parsed whatever they hold: it costs little. */
const SCAN_ABOVE_BYTES = 1024;

/** The request's JSON body, or the refusal it earns: 415 unless it is declared JSON, 400 unless
 * it parses. A large body whose top-level fields are not all among `known` (the route's body
 * schema's) is refused for them without being parsed, with the 400 zod would give (its unknown
 * fields, the first 20 in details): refusing it costs what a valid body of its size costs. The
 * refusal is returned, not thrown: the pipeline answers it only after the key has been checked. */
export async function readJsonBody(
  c: Context,
  known?: ReadonlySet<string>,
): Promise<{ body: unknown } | { error: ApiError }> {
  const type = c.req.header("content-type");
  if (!type || !JSON_MEDIA_TYPE.test(type)) return { error: unsupportedMediaType() };
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    return { error: malformedJson() };
  }
  if (known && text.length > SCAN_ABOVE_BYTES) {
    const unknown = unknownTopLevelFields(text, known, MAX_DETAILS);
    if (unknown && unknown.count > 0) {
      const { first: keys, count } = unknown;
      return {
        error: validationError(
          [{ code: "unrecognized_keys", path: [], keys, count, message: "" }],
          "body",
        ),
      };
    }
  }
  try {
    return { body: JSON.parse(text) };
  } catch {
    return { error: malformedJson() };
  }
}
