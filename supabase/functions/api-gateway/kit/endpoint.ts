import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../deps.ts";
import type { ApiError, ErrorCode } from "../errors.ts";
import { requireApiKey } from "../middleware/api_key.ts";
import { requireJsonBody } from "../middleware/json_body.ts";
import type { Permission } from "../permissions.ts";
import { callAuthorized, UnexpectedResult } from "./authorize.ts";
import { errorResponses, RATE_LIMIT_HEADERS } from "./openapi.ts";

type Shape = z.ZodObject;
type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** A validated request, as the route's SQL arguments and response are built from it. */
export interface Input<P, Q, B> {
  params: Parsed<P>;
  query: Parsed<Q>;
  body: Parsed<B>;
}

/** An endpoint, whole: its contract (method, path, permission, schemas), the SQL function that
 * authorizes and does the work, and how that function's answer becomes the response. The kit
 * supplies everything else: the key check, validation with one error envelope, the single
 * database call, the rate-limit headers, the OpenAPI entry. */
export interface Endpoint<
  P extends Shape | undefined = Shape | undefined,
  Q extends Shape | undefined = Shape | undefined,
  B extends Shape | undefined = Shape | undefined,
  R extends z.ZodType = z.ZodType,
  D = unknown,
> {
  method: "get" | "post";
  /** Under the function's base path, OpenAPI style: `/v1/companies/{id}/contacts`. */
  path: `/v1/${string}`;
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  permission: Permission;
  request: { params?: P; query?: Q; body?: B; bodyExample?: z.input<NonNullable<B>> };
  /** The SQL function (in schema public) and its named arguments; the kit adds p_key_hash (and
   * p_now when the app has a clock). */
  sql: { fn: string; args: (input: Input<P, Q, B>) => Record<string, unknown> };
  /** The function's own outcomes besides "ok", with the error each is answered with. */
  errors?: Partial<Record<ErrorCode, (input: Input<P, Q, B>) => ApiError>>;
  response: {
    description: string;
    schema: R;
    example?: z.output<R>;
    /** The 200 body from the function's `data`. */
    from: (data: D, input: Input<P, Q, B>) => z.output<R>;
  };
}

/** Declares an endpoint; the identity function that lets TypeScript infer its types. */
export function defineEndpoint<
  P extends Shape | undefined,
  Q extends Shape | undefined,
  B extends Shape | undefined,
  R extends z.ZodType,
  D,
>(endpoint: Endpoint<P, Q, B, R, D>): Endpoint<P, Q, B, R, D> {
  return endpoint;
}

// deno-lint-ignore no-explicit-any
export type AnyEndpoint = Endpoint<any, any, any, any, any>;

/** Adds the endpoint to the app and to its OpenAPI document. */
export function registerEndpoint(api: OpenAPIHono<AppEnv>, endpoint: AnyEndpoint): void {
  const { request } = endpoint;
  const route = createRoute({
    method: endpoint.method,
    path: endpoint.path,
    operationId: endpoint.operationId,
    tags: endpoint.tags,
    summary: endpoint.summary,
    description: `${endpoint.description}\n\nRequires the \`${endpoint.permission}\` permission.`,
    security: [{ ApiKey: [] }],
    middleware: request.body
      ? [requireApiKey(endpoint.permission), requireJsonBody]
      : [requireApiKey(endpoint.permission)],
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
      200: {
        description: endpoint.response.description,
        headers: RATE_LIMIT_HEADERS,
        content: {
          "application/json": {
            schema: endpoint.response.schema,
            ...(endpoint.response.example ? { example: endpoint.response.example } : {}),
          },
        },
      },
      ...errorResponses(Object.keys(endpoint.errors ?? {}) as ErrorCode[], endpoint.permission),
    },
  });

  const handler = async (c: Context<AppEnv>) => {
    const valid = c.req.valid as (target: string) => unknown;
    const input = {
      params: valid.call(c.req, "param"),
      query: valid.call(c.req, "query"),
      body: valid.call(c.req, "json"),
    } as Input<unknown, unknown, unknown>;
    const outcome = await callAuthorized(c, endpoint.sql.fn, endpoint.sql.args(input));
    if (outcome.outcome !== "ok") {
      const refusal = endpoint.errors?.[outcome.outcome as ErrorCode]?.(input);
      // An outcome the route does not declare (or answers with another code) is a bug in its SQL
      // function, not a client error.
      if (refusal?.code !== outcome.outcome) throw new UnexpectedResult();
      throw refusal;
    }
    return c.json(endpoint.response.from(outcome.data, input), 200);
  };
  // The handler's body is typed by the endpoint's own schemas, which the generic route type
  // cannot see; the response schema is the contract the tests hold it to.
  api.openapi(route, handler as never);
}
