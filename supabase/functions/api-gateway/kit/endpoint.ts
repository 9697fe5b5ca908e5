/**
 * The route kit: an endpoint is a declaration (its contract, its SQL function, its answer), and
 * every request to it goes through the same steps, in this order, written here once:
 *
 *   1. key      `Authorization: Bearer wbk_...`: shape and checksum, then hashed (kit/key.ts).
 *               Missing or malformed is 401 with no database call (and no zod: the route's
 *               schemas are built on the first request that gets past this step, kit/zod.ts);
 *               a key the database refused for its window is refused again until the window
 *               resets, with no database call either (kit/refusals.ts).
 *   2. body     `Idempotency-Key` on a POST, PATCH or DELETE well formed (kit/idempotency.ts), the
 *               body declared JSON and parseable (kit/body.ts): else 400 / 415 / 400.
 *   3. input    zod over the query, the path, the body (kit/validate.ts): else 400.
 *               A refusal of step 2 or 3 is answered only after an authorize-only call
 *               (kit/authorize.ts), so 401, 403 and 429 come before any 400, and a 400 counts.
 *   4. the call one database call: the route's SQL function checks the key, takes the rate-limit
 *               tokens and does the work in one transaction (401, 403, 429, the route's own 4xx).
 *               With an Idempotency-Key, still one call: the function's Idempotency-Key form,
 *               public.<fn>_idempotent, which runs it and stores its result, or replays the
 *               stored one (409, 422).
 *   5. answer   the route's status and body, with the rate-limit headers, built from the
 *               function's result alike for a first request and for its replay (which adds
 *               `Idempotent-Replayed: true`): a route's answer must depend on nothing but that
 *               result and the request's input.
 */
import type { Context, Hono } from "hono";
import type { z } from "zod";
import type { AppEnv } from "../context.ts";
import {
  type ApiError,
  type ErrorCode,
  idempotencyKeyInProgress,
  idempotencyKeyReused,
} from "../errors.ts";
import type { Permission } from "../permissions.ts";
import {
  authorizeOnly,
  callAuthorized,
  type Caller,
  KIT_ARGUMENTS,
  refuseIfStillLimited,
  UnexpectedResult,
} from "./authorize.ts";
import { readJsonBody } from "./body.ts";
import type { Outcome } from "./outcome.ts";
import {
  IDEMPOTENCY_KEY_HEADER,
  idempotencyArguments,
  IDEMPOTENT_METHODS,
  idempotentForm,
  parseIdempotencyKey,
  REPLAYED_HEADER,
} from "./idempotency.ts";
import { presentedKeyHash } from "./key.ts";
import { type Input, validateInput } from "./validate.ts";
import { loadZod, type Zod } from "./zod.ts";

export type { Input };

/** The zod schemas of a request's parts. */
export interface RequestSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

type Parsed<T> = T extends z.ZodType ? z.output<T> : undefined;
/** The validated input of a request with schemas S. */
export type InputOf<S extends RequestSchemas> = Input<
  Parsed<S["params"]>,
  Parsed<S["query"]>,
  Parsed<S["body"]>
>;

/** Statuses an endpoint may answer with on success. */
export type SuccessStatus = 200 | 201 | 202 | 204;

/** An endpoint, whole: its contract (method, path, permission, schemas), the SQL function that
 * authorizes and does the work, and how that function's answer becomes the response. Schemas are
 * builders `(z) => schema` (kit/zod.ts says why). */
export interface Endpoint<
  S extends RequestSchemas = RequestSchemas,
  R extends z.ZodType = z.ZodType,
  D = unknown,
> {
  method: "get" | "post" | "patch" | "delete";
  /** Under the function's base path, OpenAPI style: `/v1/companies/{id}/contacts`. */
  path: `/v1/${string}`;
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  permission: Permission;
  /** The request's schemas: path params, query, JSON body (each optional). */
  request?: (z: Zod) => S;
  /** The document's example body. */
  bodyExample?: z.input<NonNullable<S["body"]>>;
  /** A request with no body at all (no Content-Type, nothing sent) is taken as `{}`: for a body
   * whose every field is optional (a rotation's grace period), so that `curl -X POST` works. */
  bodyOptional?: boolean;
  /** The SQL function (in schema public) and its named arguments; the kit adds p_key_hash (and
   * p_now when the app has a clock, and the Idempotency-Key form's own), which the route's own
   * may not name (KIT_ARGUMENTS). */
  sql: {
    fn: string;
    /** May be async, and may read the app's deps (a secret to encrypt first). */
    args: (
      input: InputOf<S>,
      c: Context<AppEnv>,
    ) => Record<string, unknown> | Promise<Record<string, unknown>>;
  };
  /** The function's own outcomes besides "ok", with the error each is answered with (from the
   * input, and the function's answer when the refusal carries figures, as a Retry-After). */
  errors?: Partial<Record<ErrorCode, (input: InputOf<S>, outcome: Outcome) => ApiError>>;
  /** A check zod cannot make (a URL's resolved addresses, say), run after zod and before the
   * call: the refusal it returns is answered like a 400 of zod's, after the key check. */
  check?: (input: InputOf<S>, c: Context<AppEnv>) => Promise<ApiError | null> | ApiError | null;
  response: {
    /** 200 unless given. */
    status?: SuccessStatus;
    description: string;
    /** The body's schema (none for a 204): the document's, and what the tests hold answers to. */
    schema?: (z: Zod) => R;
    example?: z.output<R>;
    /** The body from the function's `data` (not called for a 204); may be async (a secret the
     * function stored encrypted, decrypted for the one answer that shows it). A replay builds it
     * again from the stored `data`: it must depend on nothing else than `data`, `input` and the
     * app's deps (never on the request's time or randomness). */
    from: (data: D, input: InputOf<S>, c: Context<AppEnv>) => z.output<R> | Promise<z.output<R>>;
  };
}

/** Declares an endpoint; the identity function that lets TypeScript infer its types. */
export function defineEndpoint<S extends RequestSchemas, R extends z.ZodType, D>(
  endpoint: Endpoint<S, R, D>,
): Endpoint<S, R, D> {
  return endpoint;
}

// deno-lint-ignore no-explicit-any
export type AnyEndpoint = Endpoint<any, any, any>;

/** The endpoint's request schemas, built once from `z`. */
const built = new WeakMap<AnyEndpoint, RequestSchemas>();
export function requestSchemas(endpoint: AnyEndpoint, z: Zod): RequestSchemas {
  const known = built.get(endpoint);
  if (known) return known;
  const schemas: RequestSchemas = endpoint.request?.(z) ?? {};
  built.set(endpoint, schemas);
  return schemas;
}

/** The endpoint's path as Hono routes it: `{id}` becomes `:id`. */
export const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ":$1");

/** Steps 1 to 5 for one endpoint. */
export function endpointHandler(endpoint: AnyEndpoint) {
  const { response } = endpoint;
  const status = response.status ?? 200;
  const form = idempotentForm(endpoint.sql.fn);
  return async (c: Context<AppEnv>): Promise<Response> => {
    // 1. key
    const caller: Caller = {
      keyHash: await presentedKeyHash(c.req.header("authorization")),
      permission: endpoint.permission,
    };
    refuseIfStillLimited(c, caller);

    // 2. Idempotency-Key, body, 3. input (and the route's own check); refused after the key check
    const idempotency = IDEMPOTENT_METHODS.has(endpoint.method)
      ? parseIdempotencyKey(c.req.header(IDEMPOTENCY_KEY_HEADER))
      : undefined;
    if (idempotency && "error" in idempotency) return await refuse(c, caller, idempotency.error);
    const schemas = requestSchemas(endpoint, await loadZod());
    let body: unknown;
    if (schemas.body && endpoint.bodyOptional && await sentNoBody(c)) {
      body = {};
    } else if (schemas.body) {
      const read = await readJsonBody(c, topLevelFields(schemas.body));
      if ("error" in read) return await refuse(c, caller, read.error);
      body = read.body;
    }
    const valid = validateInput(c, schemas, body);
    if ("error" in valid) return await refuse(c, caller, valid.error);
    const input = valid.input as Input<unknown, unknown, unknown>;
    const refusal = await endpoint.check?.(input, c);
    if (refusal) return await refuse(c, caller, refusal);

    // 4. the call
    const args = await endpoint.sql.args(input, c);
    if (KIT_ARGUMENTS.some((name) => Object.hasOwn(args, name))) throw new KitArgumentError();
    const outcome = idempotency
      ? await callAuthorized(c, caller, form, {
        ...args,
        ...idempotencyArguments(idempotency.key, endpoint.permission, {
          method: endpoint.method,
          path: endpoint.path,
          params: c.req.param(),
          query: c.req.queries(),
          body,
        }),
      })
      : await callAuthorized(c, caller, endpoint.sql.fn, args);
    if (outcome.replayed === true) c.header(REPLAYED_HEADER, "true");
    if (outcome.outcome === "idempotency_key_in_progress") throw idempotencyKeyInProgress();
    if (outcome.outcome === "idempotency_key_reused") throw idempotencyKeyReused();
    if (outcome.outcome !== "ok") {
      const error = endpoint.errors?.[outcome.outcome as ErrorCode]?.(input, outcome);
      // An outcome the route does not declare (or answers with another code) is a bug in its SQL
      // function, not a client error.
      if (error?.code !== outcome.outcome) throw new UnexpectedResult();
      throw error;
    }

    // 5. answer
    if (status === 204) return c.body(null, 204);
    return c.json(await response.from(outcome.data, input, c), status);
  };
}

/** Nothing sent: no Content-Type and an empty body (a Content-Type with an empty body is still
 * malformed JSON, as it says it is JSON). */
async function sentNoBody(c: Context<AppEnv>): Promise<boolean> {
  if (c.req.header("content-type") !== undefined) return false;
  return (await c.req.text()) === "";
}

/** The fields a body schema allows, when it is a strict object's (any other field refused), so
 * kit/body.ts may refuse a large body's unknown fields before parsing it; built once per schema. */
const fieldsOf = new WeakMap<object, ReadonlySet<string> | undefined>();
function topLevelFields(schema: object): ReadonlySet<string> | undefined {
  if (!fieldsOf.has(schema)) {
    const s = schema as {
      shape?: Record<string, unknown>;
      _zod?: { def?: { catchall?: { _zod?: { def?: { type?: string } } } } };
    };
    const strict = s._zod?.def?.catchall?._zod?.def?.type === "never";
    fieldsOf.set(schema, strict && s.shape ? new Set(Object.keys(s.shape)) : undefined);
  }
  return fieldsOf.get(schema);
}

async function refuse(c: Context<AppEnv>, caller: Caller, error: ApiError): Promise<never> {
  await authorizeOnly(c, caller);
  throw error;
}

/** Adds the endpoint to the app. */
export function registerEndpoint(app: Hono<AppEnv>, endpoint: AnyEndpoint): void {
  app.on(endpoint.method.toUpperCase(), honoPath(endpoint.path), endpointHandler(endpoint));
}

/** A route's SQL arguments naming one the kit sets (KIT_ARGUMENTS): a bug, refused before any
 * call. */
export class KitArgumentError extends Error {
  constructor() {
    super(`A route's SQL arguments may not name ${KIT_ARGUMENTS.join(", ")}: the kit sets them.`);
    this.name = "KitArgumentError";
  }
}
