import type { AnyEndpoint } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import type { GatewayApp } from "../../supabase/functions/api-gateway/app.ts";
import type { Tenant } from "./fixtures.ts";
import type { RouteRequest } from "./http.ts";
import type { BuildOptions } from "./app.ts";
import type { DbTarget } from "./targets.ts";

/** How the shared suites (security, property, rate limits, call counts) exercise one endpoint,
 * and the endpoint's own contract tests. One file per endpoint in tests/routes/, its default
 * export; the suites load every file there, and fail when an endpoint has none. */
export interface RouteTest {
  endpoint: AnyEndpoint;
  /** A request that succeeds (the route's success status) for a key of `self` holding the
   * route's permission. */
  valid(self: Tenant): RouteRequest;
  /** A request zod refuses (400), for the suites that check the key is checked first; by
   * default valid(self) with every path parameter made a non-UUID (required without params). */
  invalid?(self: Tenant): RouteRequest;
  /** Another valid request than valid(self) to the same path (another body), for the
   * Idempotency-Key suite's "same key, another request": required of a write without path
   * parameters (with them, the suite changes the path instead). */
  variant?(self: Tenant): RouteRequest;
  /** Asserts what the success answer to `valid(self)` looks like (undefined for a 204). */
  ok(json: unknown, self: Tenant): void;
  /** What the route's SQL function answers in `data` for valid(self): the supabase adapter's
   * contract test feeds it to the app through a fake PostgREST. */
  sqlData: unknown;
  /** Whether a 200 may change business data (the property suite checks that nothing else does). */
  writes: boolean;
  /** Requests aimed at another org's resources, and what the route must answer: as if those
   * resources did not exist, with nothing of either org changed. */
  crossOrg(self: Tenant, other: Tenant): CrossOrgCase[];
  /** Ids the property suite mixes into generated bodies and queries; their 200s are checked by
   * `check200` when given. */
  property?: PropertyHooks;
  /** The endpoint's own HTTP contract, run on every database target. */
  contract?(t: Deno.TestContext, ctx: ContractContext): Promise<void>;
}

export interface CrossOrgCase extends RouteRequest {
  name: string;
  status: number;
  code?: string;
  /** For a 200: what the body must say (e.g. the other org's ids counted as failed). */
  check?(json: unknown): void;
}

export interface PropertyHooks {
  /** The most items the published contract allows in each array of `valid(self).body`, by dotted
   * path (`contact_ids`). The suite regrows those arrays from just under this to as many as fit
   * in a body and holds the gateway to it: 200 up to it, 400 validation_error (zod's too_big)
   * past it. Written out, not imported from limits.ts, so a limit raised in code alone fails. */
  maxItems?: Record<string, number>;
  /** For an array whose items may not repeat (by dotted path): the distinct items it is grown
   * with, instead of valid(self)'s own repeated. */
  distinctItems?: Record<string, unknown[]>;
  /** Checks a 200 the property suite provoked: `sent` is what it sent, `key` whose key it was. */
  check200?(
    ctx: { target: DbTarget; tenant: Tenant; sent: GeneratedRequest },
    json: unknown,
  ): Promise<void>;
  /** Undoes what a success of this route did to the tenants' fixtures (a deleted webhook
   * endpoint), after it was checked: the suite's requests share the tenants, and the other routes'
   * valid(self) needs them as they were. */
  restore?(ctx: { target: DbTarget; tenants: Tenant[] }): Promise<void>;
}

export interface GeneratedRequest {
  method: string;
  path: string;
  body: Uint8Array | null;
}

export interface ContractContext {
  target: DbTarget;
  /** Builds an app on the target with its log lines and database calls recorded. */
  build(options?: BuildOptions): {
    app: GatewayApp;
    logs: string[];
    calls: { fn: string; args: Record<string, unknown> }[];
  };
}

export function defineRouteTest(test: RouteTest): RouteTest {
  return test;
}

/** The status the endpoint answers a success with. */
export const successStatus = (endpoint: AnyEndpoint): number => endpoint.response.status ?? 200;

/** route.invalid(self), or valid(self) with every path parameter made a non-UUID. */
export function invalidRequest(route: RouteTest, self: Tenant): RouteRequest {
  if (route.invalid) return route.invalid(self);
  const valid = route.valid(self);
  const names = Object.keys(valid.params);
  if (names.length === 0) {
    throw new Error(`${route.endpoint.path} has no path parameters: its RouteTest needs invalid()`);
  }
  return { ...valid, params: Object.fromEntries(names.map((n) => [n, "not-a-uuid"])) };
}

const DIR = new URL("../routes/", import.meta.url);

/** Every endpoint's RouteTest, in ENDPOINTS order; throws when one is missing or doubled. */
export async function loadRouteTests(): Promise<RouteTest[]> {
  const found: RouteTest[] = [];
  const names: string[] = [];
  for await (const entry of Deno.readDir(DIR)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
      names.push(entry.name);
    }
  }
  for (const name of names.sort()) {
    const mod = await import(new URL(name, DIR).href);
    if (!mod.default?.endpoint) throw new Error(`tests/routes/${name} exports no RouteTest`);
    found.push(mod.default);
  }
  return ENDPOINTS.map((endpoint) => {
    const tests = found.filter((t) => t.endpoint === endpoint);
    if (tests.length !== 1) {
      throw new Error(
        `${endpoint.method.toUpperCase()} ${endpoint.path} has ${tests.length} RouteTests in ` +
          "tests/routes/ (exactly one is required: every endpoint goes through the shared suites)",
      );
    }
    return tests[0];
  });
}
