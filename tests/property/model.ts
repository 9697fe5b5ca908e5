/**
 * What the property suite reads off one route's declaration (its endpoint and its RouteTest):
 * method, path template and params, query names, the shape of a valid body, the keys that hold
 * the route's permission and those that do not. Nothing here is written per route.
 */
import { requestSchemas } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { z } from "zod";
import type { Permission } from "../../supabase/functions/api-gateway/permissions.ts";
import { PERMISSIONS } from "../../supabase/functions/api-gateway/permissions.ts";
import { BASE_PATH } from "../../supabase/functions/api-gateway/paths.ts";
import type { Tenant } from "../harness/fixtures.ts";
import type { RouteRequest } from "../harness/http.ts";
import type { RouteTest } from "../harness/route_tests.ts";

/** An array inside the valid body: the JSON text around its brackets, so it can be regrown. */
export interface ArrayHole {
  /** Dotted, as validation details name it. */
  path: string;
  before: string;
  after: string;
  /** The valid body's own items. */
  items: unknown[];
  /** The most items the contract allows (RouteTest.property.maxItems). */
  max?: number;
}

export interface BodyModel {
  value: unknown;
  text: string;
  keys: string[];
  holes: ArrayHole[];
  /** The text around the valid body's first value (or an extra key when it has none). */
  firstValue: { before: string; after: string };
}

export interface RouteModel {
  test: RouteTest;
  index: number;
  label: string;
  method: string;
  /** OpenAPI style, under the base path: `/v1/companies/{id}/contacts`. */
  template: string;
  params: string[];
  /** Names the query schema declares (empty when the route takes no query). */
  queryNames: string[];
  /** The status of its success (200, 201, 202, 204). */
  success: number;
  permission: Permission;
  valid: RouteRequest;
  /** The same request for the other org: its own resources. */
  validOther: RouteRequest;
  body: BodyModel | null;
  /** The path pattern the gateway routes on, over a decoded path. */
  pattern: RegExp;
}

const HOLE = "\u0000hole\u0000";

/** The valid body with the value at `path` replaced by a marker, as the text on either side. */
function around(value: unknown, path: (string | number)[]): { before: string; after: string } {
  const copy = structuredClone(value);
  if (path.length === 0) return { before: "", after: "" };
  let at = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path.at(-1)!] = HOLE;
  const [before, after] = JSON.stringify(copy).split(JSON.stringify(HOLE));
  return { before, after };
}

function arraysIn(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [path];
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => arraysIn(v, [...path, k]));
}

/** A body's shape; `maxItems` pins its arrays' limits (RouteTest.property.maxItems). */
export function bodyModel(value: unknown, maxItems: Record<string, number> = {}): BodyModel {
  const holes = arraysIn(value).map((path): ArrayHole => {
    const dotted = path.join(".");
    let items: unknown = value;
    for (const key of path) items = (items as Record<string | number, unknown>)[key];
    return {
      path: dotted,
      ...around(value, path),
      items: items as unknown[],
      max: maxItems[dotted],
    };
  });
  for (const declared of Object.keys(maxItems)) {
    if (!holes.some((h) => h.path === declared)) {
      throw new Error(
        `property.maxItems names ${declared}, which is not an array in valid(self).body`,
      );
    }
  }
  const keys = value !== null && typeof value === "object" ? Object.keys(value) : [];
  const firstValue = keys.length ? around(value, [keys[0]]) : { before: '{"x":', after: "}" };
  return { value, text: JSON.stringify(value), keys, holes, firstValue };
}

export function routeModel(test: RouteTest, index: number, a: Tenant, b: Tenant): RouteModel {
  const { endpoint } = test;
  const label = `${endpoint.method.toUpperCase()} ${endpoint.path}`;
  const params = [...endpoint.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const valid = test.valid(a);
  const maxItems = test.property?.maxItems;
  const request = requestSchemas(endpoint, z);
  if (maxItems && !request.body) throw new Error(`${label}: maxItems but no body`);
  const body = request.body ? bodyModel(valid.body, maxItems) : null;
  // Huge arrays must be refused by validation at a number the suite knows, so every array a
  // body holds needs its published maximum declared.
  for (const hole of body?.holes ?? []) {
    if (hole.max === undefined) {
      throw new Error(
        `${label}: valid(self).body holds an array at ${hole.path || "its root"}; declare its ` +
          "published maximum in property.maxItems (tests/routes/)",
      );
    }
  }
  const shape = (request.query as { shape?: Record<string, unknown> } | undefined)?.shape;
  const regex = endpoint.path.split("/").map((part) =>
    /^\{\w+\}$/.test(part) ? "([^/]+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("/");
  return {
    test,
    index,
    label,
    method: endpoint.method.toUpperCase(),
    template: endpoint.path,
    params,
    queryNames: Object.keys(shape ?? {}),
    permission: endpoint.permission,
    success: endpoint.response.status ?? 200,
    valid,
    validOther: test.valid(b),
    body,
    pattern: new RegExp(`^${BASE_PATH}${regex}$`),
  };
}

/** Keys by what the route must make of them. */
export interface KeyClasses {
  /** The tenant's keys holding the permission. */
  permitted: string[];
  /** Valid keys of the tenant without it. */
  unpermitted: string[];
  /** Revoked and expired. */
  dead: string[];
}

export function keyClasses(tenant: Tenant, permission: Permission): KeyClasses {
  const others = PERMISSIONS.filter((p) => p !== permission);
  return {
    // Every key that holds it: its own, all of them, and every other's "without" key.
    permitted: [
      tenant.keys.only[permission],
      tenant.keys.all,
      ...others.map((p) => tenant.keys.without[p]),
    ],
    unpermitted: [tenant.keys.without[permission], ...others.map((p) => tenant.keys.only[p])],
    dead: [tenant.keys.revoked, tenant.keys.expired],
  };
}

/** Every key of the tenants with a name for counterexamples (`<A only contacts:read key>`). */
export function namedKeys(tenants: [string, Tenant][]): [string, string][] {
  return tenants.flatMap(([org, t]) => [
    ...Object.entries(t.keys.only).map(([p, k]): [string, string] => [`${org} only ${p}`, k]),
    ...Object.entries(t.keys.without).map(([p, k]): [string, string] => [`${org} without ${p}`, k]),
    [`${org} all`, t.keys.all],
    [`${org} revoked`, t.keys.revoked],
    [`${org} expired`, t.keys.expired],
  ]);
}
