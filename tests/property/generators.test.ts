// The generators are built from declarations alone: routes of shapes no real route has yet (no
// params, two params, a GET with a query and no body, nested and root arrays, a body without
// arrays) still yield requests that can be sent. No database: this samples and builds only.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { AnyEndpoint } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { type Permission, PERMISSIONS } from "../../supabase/functions/api-gateway/permissions.ts";
import type { Tenant } from "../harness/fixtures.ts";
import type { RouteTest } from "../harness/route_tests.ts";
import { routeModel } from "./model.ts";
import { hostileRequests } from "./requests.ts";
import { toRequest } from "./wire.ts";

const key = (c: string) => `wbk_${c.repeat(52)}`;
function tenant(c: string): Tenant {
  const ids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());
  const only = Object.fromEntries(
    PERMISSIONS.map((p, i) => [p, key(i % 2 ? c.toUpperCase() : c)]),
  ) as Record<Permission, string>;
  return {
    orgId: crypto.randomUUID(),
    companyIds: ids(2),
    contactIds: ids(3).sort(),
    webhookIds: ids(2),
    deliveryIds: ids(1),
    keyIds: {},
    keys: {
      only,
      without: Object.fromEntries(
        PERMISSIONS.map((
          p,
        ) => [p, only[p === "contacts:read" ? "contacts:write" : "contacts:read"]]),
      ) as Record<Permission, string>,
      all: key("1"),
      revoked: key("2"),
      expired: key("3"),
      write: only["contacts:write"],
      read: only["contacts:read"],
    },
  };
}

const route = (
  method: "get" | "post",
  path: `/v1/${string}`,
  request: { query?: string[]; body?: boolean },
  valid: RouteTest["valid"],
  maxItems?: Record<string, number>,
): RouteTest => ({
  endpoint: {
    method,
    path,
    permission: "contacts:read",
    response: { from: () => ({}) },
    request: () => ({
      ...(request.query
        ? { query: { shape: Object.fromEntries(request.query.map((q) => [q, 0])) } }
        : {}),
      ...(request.body ? { body: {} } : {}),
    }),
  } as unknown as AnyEndpoint,
  valid,
  ok: () => {},
  sqlData: null,
  writes: false,
  crossOrg: () => [],
  property: maxItems ? { maxItems } : undefined,
});

Deno.test("generators: any route shape yields requests that can be sent", () => {
  const a = tenant("a");
  const b = tenant("b");
  const routes = [
    route("get", "/v1/me", {}, () => ({ params: {} })),
    route(
      "get",
      "/v1/things",
      { query: ["q", "cursor"] },
      () => ({ params: {}, query: { q: "x" } }),
    ),
    route("post", "/v1/orgs/{org}/things/{thing}", { body: true }, (t) => ({
      params: { org: t.orgId, thing: t.companyIds[0] },
      body: { name: "n", tags: { ids: [t.contactIds[0]] }, on: true, n: 1 },
    }), { "tags.ids": 10 }),
    route("post", "/v1/bulk", { body: true }, () => ({ params: {}, body: [1, 2] }), { "": 5 }),
    route("post", "/v1/plain", { body: true }, () => ({ params: {}, body: { a: "b" } })),
  ];
  const models = routes.map((r, i) => routeModel(r, i, a, b));
  const { arbitrary } = hostileRequests(models, a, b);
  const seen = new Set<string>();
  for (const h of fc.sample(arbitrary, { numRuns: 3_000, seed: 42 })) {
    seen.add(`${h.route}`);
    if (h.expect?.kind === "tooMany") seen.add(`${h.route} past ${h.expect.path || "root"}`);
    assert.ok(toRequest(h).request instanceof Request);
  }
  for (const want of ["0", "1", "2", "3", "4", "2 past tags.ids", "3 past root"]) {
    assert.ok(seen.has(want), `never generated: ${want}`);
  }
});

Deno.test("generators: a body array without its published maximum is refused", () => {
  const unpinned = route("post", "/v1/bulk", { body: true }, (t) => ({
    params: {},
    body: { ids: t.contactIds },
  }));
  assert.throws(() => routeModel(unpinned, 0, tenant("a"), tenant("b")), /property\.maxItems/);
});
