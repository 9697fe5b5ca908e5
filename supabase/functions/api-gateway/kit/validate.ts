import type { Context } from "hono";
import type { z } from "zod";
import { type ApiError, type InputSource, validationError } from "../errors.ts";

/** The request's input, as zod parsed it: what the route's SQL arguments and answer are built
 * from. */
export interface Input<P = unknown, Q = unknown, B = unknown> {
  params: P;
  query: Q;
  body: B;
}

export interface InputSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

/** Query values as Hono's validator gives them: a name sent once is a string, repeated an array. */
function queryValues(c: Context): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    out[name] = values.length === 1 ? values[0] : values;
  }
  return out;
}

/** zod over the query, the path, then the body (the order @hono/zod-openapi validated in, so a
 * request with several faults is refused for the same one); the first source that fails is the
 * 400. Returned, not thrown: the pipeline answers it only after the key has been checked. */
export function validateInput(
  c: Context,
  schemas: InputSchemas,
  body: unknown,
): { input: Input } | { error: ApiError } {
  const input: Input = { params: undefined, query: undefined, body: undefined };
  const steps: [InputSource, keyof Input, z.ZodType | undefined, () => unknown][] = [
    ["query", "query", schemas.query, () => queryValues(c)],
    ["path", "params", schemas.params, () => c.req.param()],
    ["body", "body", schemas.body, () => body],
  ];
  for (const [source, field, schema, value] of steps) {
    if (!schema) continue;
    const result = schema.safeParse(value());
    if (!result.success) return { error: validationError(result.error.issues, source) };
    input[field] = result.data;
  }
  return { input };
}
