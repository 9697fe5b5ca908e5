/**
 * The properties of one generated request, on one target: sends it to the real app and holds
 * the answer, the log line, the database calls and the stored data to everything that must be
 * true whatever was sent, then to what its generator expected of it, if anything.
 */
import assert from "node:assert/strict";
import type { GatewayApp } from "../../supabase/functions/api-gateway/app.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import { assertNoSecrets } from "../harness/app.ts";
import { databaseDigest, type Tenant } from "../harness/fixtures.ts";
import type { CrossOrgCase } from "../harness/route_tests.ts";
import type { DbTarget } from "../harness/targets.ts";
import {
  assertEnvelope,
  assertRequestId,
  assertResponseShape,
  parseJson,
  prototypeWatch,
  rateLimitHeaders,
} from "./answers.ts";
import { keyClasses, type RouteModel } from "./model.ts";
import { OPENAPI_PATH } from "./requests.ts";
import { type Hostile, toRequest } from "./wire.ts";

export interface Run {
  target: DbTarget;
  app: GatewayApp;
  logs: string[];
  calls: { fn: string; args: Record<string, unknown> }[];
  a: Tenant;
  b: Tenant;
  models: RouteModel[];
  /** Plaintext keys and their hashes. */
  secrets: string[];
}

/** The path as the router sees it: percent-decoded as decodeURI does (a `%2F` stays). */
function routedPath(pathname: string): string {
  const decode = (s: string) => decodeURI(s.replace(/%25/g, "%2525"));
  try {
    return decode(pathname);
  } catch {
    return pathname.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
      try {
        return decode(m);
      } catch {
        return m;
      }
    });
  }
}

/** What the generator expects, resolved against the method the Request ended up with. */
interface Expected {
  status: number;
  code?: string;
  allow?: string;
}

function expected(
  h: Hostile,
  method: string,
  models: RouteModel[],
  crossOrg: CrossOrgCase[][],
): Expected | null {
  const route = models[h.route];
  const e = h.expect;
  switch (e?.kind) {
    case undefined:
      return null;
    case "ok":
      return { status: 200 };
    case "status":
      return { status: e.status, code: e.code };
    case "tooMany":
      return { status: 400, code: "validation_error" };
    case "crossOrg": {
      const c = crossOrg[h.route][e.index];
      return { status: c.status, code: c.code };
    }
    case "method": {
      if (method === route.method || (method === "HEAD" && route.method === "GET")) {
        return { status: 200 };
      }
      if (method === "OPTIONS") return { status: 204 };
      // Another route on the same path may take this method.
      const shared = models.some((o) =>
        o.template === route.template &&
        (o.method === method || (method === "HEAD" && o.method === "GET"))
      );
      return shared ? null : { status: 405, code: "method_not_allowed", allow: route.method };
    }
  }
}

export function requestChecker(run: Run) {
  const { app, logs, calls, a, b, models, secrets } = run;
  const statuses: Record<number, number> = {};
  const pollution = prototypeWatch();
  const crossOrg = models.map((m) => m.test.crossOrg(a, b));
  let sent = 0;
  let baseline: string | undefined;

  const tenantOf = (authorization: string | null, m: RouteModel): Tenant | undefined => {
    const [scheme, token, ...rest] = (authorization ?? "").trim().split(/\s+/);
    if (scheme?.toLowerCase() !== "bearer" || rest.length) return undefined;
    return [a, b].find((t) => keyClasses(t, m.permission).permitted.includes(token));
  };

  /** Sends `h` and checks its answer; returns what was answered and by which endpoint. */
  async function answer(h: Hostile): Promise<{ status: number; endpoint: RouteModel | null }> {
    const { request, sent: body } = toRequest(h);
    const method = request.method;
    const requestHeaders = new Headers(request.headers);
    const url = new URL(request.url);
    const logCount = logs.length;
    calls.length = 0;
    const res = await app.request(request);
    const text = await res.text();
    sent++;
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    const context = `${method} ${(url.pathname + url.search).slice(0, 200)} -> ${res.status} ${
      text.slice(0, 300)
    }`;
    const path = routedPath(url.pathname);
    const endpoint =
      models.find((m) =>
        (m.method === method || (method === "HEAD" && m.method === "GET")) && m.pattern.test(path)
      ) ?? null;

    assert.ok(res.status < 500, `5xx: ${context}`);
    assertNoSecrets([text, ...[...res.headers].map(([k, v]) => `${k}: ${v}`)], secrets);
    pollution();
    assertRequestId(requestHeaders.get("x-request-id"), res.headers.get("x-request-id"), context);

    // One JSON log line per request, about it, never at level error, never with a secret.
    assert.equal(logs.length, logCount + 1, `log lines for one request: ${context}`);
    const line = parseJson(logs[logCount], "the log line");
    assert.equal(line.request_id, res.headers.get("x-request-id"), context);
    assert.equal(line.status, res.status, context);
    assert.equal(line.level, "info", `logged at ${line.level}: ${context}`);
    assertNoSecrets([logs[logCount]], secrets);
    assert.ok(calls.length <= 1, `${calls.length} database calls: ${context}`);

    // The headers come with the database's answer for a valid key: after the call, unless the
    // key was refused; never without one.
    const rateLimited = rateLimitHeaders(res.headers, context);
    const keyAccepted = calls.length === 1 && res.status !== 401;
    assert.equal(rateLimited, keyAccepted, `rate-limit headers ${rateLimited}: ${context}`);
    if (res.status === 401) {
      assert.match(
        res.headers.get("www-authenticate") ?? "",
        /^Bearer realm="api-gateway"/,
        context,
      );
      assert.equal(rateLimited, false, `rate-limit headers on a 401: ${context}`);
    }

    const want = expected(h, method, models, crossOrg);
    if (want) {
      assert.equal(res.status, want.status, `expected ${want.status} (${h.aim}): ${context}`);
    }

    if (method === "OPTIONS") {
      // The CORS preflight, answered before anything else and without auth.
      assert.equal(res.status, 204, context);
      assert.equal(text, "", context);
      return { status: res.status, endpoint: null };
    }

    // Oversized bodies, when the Content-Length (if any) tells the truth.
    const cl = requestHeaders.get("content-length");
    const chunked = requestHeaders.has("transfer-encoding");
    const honest = cl === null || chunked || (body !== null && cl === String(body.length));
    if (body !== null && honest) {
      assert.equal(res.status === 413, body.length > MAX_BODY_BYTES, `413 iff > limit: ${context}`);
    }
    if (body !== null && cl !== null && !chunked && Number.parseInt(cl, 10) > MAX_BODY_BYTES) {
      assert.equal(res.status, 413, `declared > limit: ${context}`);
    }

    if (res.status === 405) {
      const allow = res.headers.get("allow") ?? "";
      assert.match(allow, /^[A-Z]+(, [A-Z]+)*$/, `Allow: ${context}`);
      if (want?.allow) assert.ok(allow.split(", ").includes(want.allow), `Allow: ${context}`);
    }

    if (method === "HEAD") {
      assert.equal(text, "", context);
      if (res.status === 200 && endpoint) {
        assert.ok(rateLimited, `no rate-limit headers: ${context}`);
      }
      return { status: res.status, endpoint };
    }
    if (res.status < 200 || res.status >= 300) {
      const error = assertEnvelope(res.status, text);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/, context);
      if (want?.code) assert.equal(error.code, want.code, `${h.aim}: ${context}`);
      if (h.expect?.kind === "tooMany") {
        const path = h.expect.path;
        const details = (error.details ?? []) as { path: string; code: string; in: string }[];
        assert.ok(
          details.some((d) => d.path === path && d.code === "too_big" && d.in === "body"),
          `no too_big at ${path}: ${context}`,
        );
      }
      return { status: res.status, endpoint };
    }

    assert.equal(res.status, 200, context);
    const json = parseJson(text, "the 200 body");
    if (endpoint === null) {
      assert.equal(path, OPENAPI_PATH, `a 200 off every route: ${context}`);
      assert.equal(json.openapi, "3.1.0", context);
      assert.equal(calls.length, 0, context);
      return { status: res.status, endpoint };
    }

    // A 200 of an endpoint: its one call, its headers, its exact shape, a key that may do it.
    const declared = endpoint.test;
    assert.ok(rateLimited, `no rate-limit headers: ${context}`);
    assert.deepEqual(calls.map((c) => c.fn), [declared.endpoint.sql.fn], context);
    assertResponseShape(declared.endpoint.response.schema, json, context);
    const tenant = tenantOf(requestHeaders.get("authorization"), endpoint);
    assert.ok(tenant, `a 200 without a key holding ${endpoint.permission}: ${context}`);
    // valid(self) as it was, or under a spelling of its own method.
    const unchanged = h.expect?.kind === "ok" || h.expect?.kind === "method";
    if (unchanged && endpoint.index === h.route) declared.ok(json, a);
    if (h.expect?.kind === "crossOrg") crossOrg[h.route][h.expect.index].check?.(json);
    await declared.property?.check200?.(
      { target: run.target, tenant, sent: { method, path: url.pathname + url.search, body } },
      json,
    );
    return { status: res.status, endpoint };
  }

  /** Every property of one request, the database's included: no business write unless a 200
   * of a route that writes. A request that made no database call cannot have written (the app
   * reaches the database through `calls` only), so only the others are digested. */
  async function check(h: Hostile): Promise<void> {
    baseline ??= await databaseDigest(run.target.owner);
    let outcome: { status: number; endpoint: RouteModel | null } | undefined;
    let changed = false;
    try {
      outcome = await answer(h);
    } finally {
      if (calls.length > 0) {
        const now = await databaseDigest(run.target.owner);
        changed = now !== baseline;
        baseline = now;
      }
    }
    if (changed) {
      const { status, endpoint } = outcome;
      assert.ok(
        status === 200 && endpoint?.test.writes,
        `a ${status} answer${endpoint ? ` of ${endpoint.label}` : ""} changed business data`,
      );
    }
  }

  return { check, statuses, count: () => sent };
}
