import type { AnyEndpoint } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import type { GatewayApp } from "../../supabase/functions/api-gateway/app.ts";
import type { Tenant } from "./fixtures.ts";
import type { RouteRequest } from "./http.ts";
import type { DbTarget } from "./targets.ts";

/** How the shared suites (security, property, rate limits, call counts) exercise one endpoint,
 * and the endpoint's own contract tests. One file per endpoint in tests/routes/, its default
 * export; the suites load every file there, and fail when an endpoint has none. */
export interface RouteTest {
  endpoint: AnyEndpoint;
  /** A request that succeeds (200) for a key of `self` holding the route's permission. */
  valid(self: Tenant): RouteRequest;
  /** Asserts what the 200 answer to `valid(self)` looks like. */
  ok(json: unknown, self: Tenant): void;
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
  /** Checks a 200 the property suite provoked: `sent` is what it sent, `key` whose key it was. */
  check200?(
    ctx: { target: DbTarget; tenant: Tenant; sent: GeneratedRequest },
    json: unknown,
  ): Promise<void>;
}

export interface GeneratedRequest {
  method: string;
  path: string;
  body: Uint8Array | null;
}

export interface ContractContext {
  target: DbTarget;
  /** Builds an app on the target with its log lines and database calls recorded. */
  build(options?: { clock?: () => Date }): {
    app: GatewayApp;
    logs: string[];
    calls: { fn: string; args: Record<string, unknown> }[];
  };
}

export function defineRouteTest(test: RouteTest): RouteTest {
  return test;
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
