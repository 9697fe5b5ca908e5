/**
 * The properties of one generated request, on one target: sends it to the real app and holds
 * the answer, the log line, the database calls and the stored data to everything that must be
 * true whatever was sent, then to what its generator expected of it, if anything.
 */
import { z } from "zod";
import assert from "node:assert/strict";
import type { GatewayApp } from "../../supabase/functions/api-gateway/app.ts";
import { MAX_BODY_BYTES, MAX_PER_PAGE } from "../../supabase/functions/api-gateway/limits.ts";
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
import { OPENAPI_PATH } from "./urls.ts";
import { type Hostile, toRequest } from "./wire.ts";

/** The most any 4xx body may weigh, whatever the request (the abuse-costs issue's bound). */
const MAX_ERROR_BYTES = 16 * 1024;
/** The largest success: a page of MAX_PER_PAGE items of the largest kind (a webhook endpoint
 * with a 2,048-character URL and a 500-character description, under 4 KiB). */
const MAX_SUCCESS_BYTES = MAX_PER_PAGE * 4 * 1024;
const encoder = new TextEncoder();

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
      return { status: route.success };
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
        return { status: route.success };
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

/** One request as sent, and its answer. */
interface Exchange {
  h: Hostile;
  method: string;
  url: URL;
  /** The path the router matched on. */
  path: string;
  requestHeaders: Headers;
  body: Uint8Array | null;
  res: Response;
  text: string;
  /** The declared endpoint this method and path reach, if any. */
  endpoint: RouteModel | null;
  want: Expected | null;
  /** Whether the rate-limit headers came back. */
  rateLimited: boolean;
  context: string;
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

  /** What must hold of every answer, whatever was asked. */
  function everyAnswer(x: Exchange) {
    const { res, text, context } = x;
    assert.ok(res.status < 500, `5xx: ${context}`);
    assert.equal(res.headers.get("cache-control"), "no-store", `Cache-Control: ${context}`);
    assertNoSecrets([text, ...[...res.headers].map(([k, v]) => `${k}: ${v}`)], secrets);
    pollution();
    assertRequestId(x.requestHeaders.get("x-request-id"), res.headers.get("x-request-id"), context);

    // One JSON log line per request, about it, never at level error, never with a secret.
    const raw = logs.at(-1)!;
    const line = parseJson(raw, "the log line");
    assert.equal(line.request_id, res.headers.get("x-request-id"), context);
    assert.equal(line.status, res.status, context);
    assert.equal(line.level, "info", `logged at ${line.level}: ${context}`);
    assertNoSecrets([raw], secrets);

    assert.ok(calls.length <= 1, `${calls.length} database calls: ${context}`);
    // The rate-limit headers come with the database's answer for a valid key: after the call,
    // unless the key was refused (401); never without the call.
    assert.equal(
      x.rateLimited,
      calls.length === 1 && res.status !== 401,
      `rate-limit headers ${x.rateLimited ? "present" : "absent"}: ${context}`,
    );
    if (res.status === 401) {
      const challenge = res.headers.get("www-authenticate") ?? "";
      assert.match(challenge, /^Bearer realm="api-gateway"/, context);
    }
    if (res.status === 405) {
      const allow = res.headers.get("allow") ?? "";
      assert.match(allow, /^[A-Z]+(, [A-Z]+)*$/, `Allow: ${context}`);
      if (x.want?.allow) assert.ok(allow.split(", ").includes(x.want.allow), `Allow: ${context}`);
    }
    if (x.want) {
      assert.equal(res.status, x.want.status, `expected ${x.want.status} (${x.h.aim}): ${context}`);
    }
    answerSize(x);
  }

  /** What a request can make the gateway say is bounded by what it sent: every 4xx at most
   * MAX_ERROR_BYTES, and every answer at most a constant plus twice the request's bytes. The
   * constant is the error bound for refusals, and for successes the largest page a list can
   * answer (MAX_SUCCESS_BYTES); the OpenAPI document, the same whatever is asked, is its own. */
  function answerSize(x: Exchange) {
    const { res, text, context } = x;
    const bytes = encoder.encode(text).length;
    if (res.status >= 400) {
      assert.ok(bytes <= MAX_ERROR_BYTES, `a ${bytes}-byte ${res.status}: ${context}`);
    }
    if (res.status === 200 && x.endpoint === null) return;
    let sent = x.url.href.length + (x.body?.length ?? 0);
    for (const [name, value] of x.requestHeaders) sent += name.length + value.length + 4;
    const constant = res.status < 300 ? MAX_SUCCESS_BYTES : MAX_ERROR_BYTES;
    assert.ok(
      bytes <= constant + 2 * sent,
      `a ${bytes}-byte answer to a ${sent}-byte request: ${context}`,
    );
  }

  /** 413 iff the body is over the limit, when Content-Length (if any) tells the truth; and
   * whenever Content-Length claims more. */
  function bodySize(x: Exchange) {
    const { body, requestHeaders, res, context } = x;
    if (body === null) return;
    const cl = requestHeaders.get("content-length");
    const chunked = requestHeaders.has("transfer-encoding");
    if (cl === null || chunked || cl === String(body.length)) {
      assert.equal(res.status === 413, body.length > MAX_BODY_BYTES, `413 iff > limit: ${context}`);
    }
    if (cl !== null && !chunked && Number.parseInt(cl, 10) > MAX_BODY_BYTES) {
      assert.equal(res.status, 413, `declared > limit: ${context}`);
    }
  }

  /** Exactly the envelope, with the code expected if one was. */
  function errorAnswer(x: Exchange) {
    const { h, res, text, context } = x;
    const error = assertEnvelope(res.status, text);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/, context);
    if (x.want?.code) assert.equal(error.code, x.want.code, `${h.aim}: ${context}`);
    if (h.expect?.kind === "tooMany") {
      const path = h.expect.path;
      const details = (error.details ?? []) as { path: string; code: string; in: string }[];
      assert.ok(
        details.some((d) => d.path === path && d.code === "too_big" && d.in === "body"),
        `no too_big at ${path}: ${context}`,
      );
    }
  }

  /** The OpenAPI document, or an endpoint's success: its one call, a key that may do it, exactly
   * its schema (no body for a 204), valid(self)'s ok(), the cross-org case's check, the route's
   * check200. */
  async function okAnswer(x: Exchange) {
    const { h, res, text, endpoint, context } = x;
    assert.equal(res.status, endpoint?.success ?? 200, context);
    const json = res.status === 204 ? (assert.equal(text, "", context), undefined) : parseJson(
      text,
      "the success body",
    );
    if (endpoint === null) {
      assert.equal(x.path, OPENAPI_PATH, `a 200 off every route: ${context}`);
      assert.equal(json.openapi, "3.1.0", context);
      assert.equal(calls.length, 0, `the document needs no database: ${context}`);
      return;
    }
    const declared = endpoint.test;
    assert.deepEqual(calls.map((c) => c.fn), [declared.endpoint.sql.fn], context);
    if (declared.endpoint.response.schema) {
      assertResponseShape(declared.endpoint.response.schema(z), json, context);
    }
    const tenant = tenantOf(x.requestHeaders.get("authorization"), endpoint);
    assert.ok(tenant, `a 200 without a key holding ${endpoint.permission}: ${context}`);
    // valid(self) as it was, or under a spelling of its own method.
    const unchanged = h.expect?.kind === "ok" || h.expect?.kind === "method";
    if (unchanged && endpoint.index === h.route) declared.ok(json, a);
    if (h.expect?.kind === "crossOrg") crossOrg[h.route][h.expect.index].check?.(json);
    await declared.property?.check200?.(
      {
        target: run.target,
        tenant,
        sent: { method: x.method, path: x.url.pathname + x.url.search, body: x.body },
      },
      json,
    );
  }

  /** Sends `h` and checks its answer; returns it, with the endpoint that gave it. */
  async function answer(h: Hostile): Promise<Exchange> {
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
    assert.equal(logs.length, logCount + 1, `log lines for one request: ${context}`);
    const path = routedPath(url.pathname);
    const x: Exchange = {
      h,
      method,
      url,
      path,
      requestHeaders,
      body,
      res,
      text,
      endpoint:
        models.find((m) =>
          (m.method === method || (method === "HEAD" && m.method === "GET")) && m.pattern.test(path)
        ) ?? null,
      want: expected(h, method, models, crossOrg),
      rateLimited: rateLimitHeaders(res.headers, context),
      context,
    };

    everyAnswer(x);
    if (method === "OPTIONS") {
      // The CORS preflight, answered before anything else and without auth.
      assert.equal(res.status, 204, context);
      assert.equal(text, "", context);
      return x;
    }
    bodySize(x);
    if (method === "HEAD") assert.equal(text, "", context);
    else if (res.status < 200 || res.status >= 300) errorAnswer(x);
    else await okAnswer(x);
    return x;
  }

  /** Every property of one request, the database's included: no business write unless a 200
   * of a route that writes. A request that made no database call cannot have written (the app
   * reaches the database through `calls` only), so only the others are digested. */
  async function check(h: Hostile): Promise<void> {
    baseline ??= await databaseDigest(run.target.owner, run.target);
    let x: Exchange | undefined;
    let changed = false;
    try {
      x = await answer(h);
    } finally {
      if (calls.length > 0) {
        const now = await databaseDigest(run.target.owner, run.target);
        changed = now !== baseline;
        baseline = now;
      }
    }
    if (changed) {
      const { res, endpoint } = x;
      assert.ok(
        res.status >= 200 && res.status < 300 && endpoint?.test.writes,
        `a ${res.status} answer${endpoint ? ` of ${endpoint.label}` : ""} changed business data`,
      );
      const restore = endpoint?.test.property?.restore;
      if (restore) {
        await restore({ target: run.target, tenants: [a, b] });
        baseline = await databaseDigest(run.target.owner, run.target);
      }
    }
  }

  return { check, statuses, count: () => sent };
}
