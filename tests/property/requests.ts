/**
 * The generated requests, per declared route: hostile keys and headers around the route's
 * permission, with its paths, queries and bodies (urls.ts, bodies.ts), and the one-off-from-valid
 * strategy that reaches the deep end of the pipeline: valid(self) with one dimension made
 * hostile; besides, each route's cross-org cases and its body arrays around their maximum.
 */
import fc from "fast-check";
import { keyChecksum } from "../../supabase/functions/api-gateway/kit/key.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import { BASE_PATH } from "../../supabase/functions/api-gateway/paths.ts";
import type { Tenant } from "../harness/fixtures.ts";
import { bodiesFor } from "./bodies.ts";
import {
  type ContentLength,
  contentLength,
  contentType,
  extraHeader,
  headerValue,
  methodsAround,
  requestId,
  saneRequestId,
  UUID,
  w,
} from "./hostile.ts";
import { bodyModel, keyClasses, namedKeys, type RouteModel } from "./model.ts";
import { openapiPaths, queries, render, routePaths, serializeQuery, strayPaths } from "./urls.ts";
import type { BodySpec, Expect, Hostile, HugeItem } from "./wire.ts";

/** Keys nobody minted: 52 random characters (the checksum fails: refused without a call), or 46
 * and their checksum (well-formed: the database refuses them). */
const madeUpKey = fc.oneof(
  fc.stringMatching(/^[0-9A-Za-z]{52}$/).map((s) => `wbk_${s}`),
  fc.stringMatching(/^[0-9A-Za-z]{46}$/).map((s) => `wbk_${s}${keyChecksum(`wbk_${s}`)}`),
);

const utf8 = new TextEncoder();

/** What a key turns into when it is mangled. */
function alterations(key: string): string[] {
  return [
    key.slice(0, -1),
    `${key}x`,
    key.toLowerCase() === key ? "wbk_" : key.toLowerCase(),
    key.replace("wbk_", "WBK_"),
    `${key.slice(0, 20)}-${key.slice(21)}`,
    "wbk_",
    "",
    "wbk_short",
    "null",
  ];
}

interface Ctx {
  a: Tenant;
  b: Tenant;
  models: RouteModel[];
  stray: fc.Arbitrary<string>;
  /** Bodies for routes that declare none (sent under another method, or too large). */
  foreignBodies: fc.Arbitrary<BodySpec>;
  bodiesOf: Map<RouteModel, fc.Arbitrary<BodySpec>>;
}

function routeRequests(m: RouteModel, ctx: Ctx): fc.Arbitrary<Hostile> {
  const { a, b } = ctx;
  const keys = keyClasses(a, m.permission);
  const theirs = keyClasses(b, m.permission);
  const main = a.keys.only[m.permission];

  const token = fc.oneof(
    w(10, fc.constantFrom(...keys.permitted)),
    w(2, fc.constantFrom(...theirs.permitted)),
    w(3, fc.constantFrom(...keys.unpermitted, ...keys.dead, ...theirs.unpermitted, ...theirs.dead)),
    w(1, madeUpKey),
    w(1, fc.constantFrom(...alterations(main))),
    w(1, headerValue()),
  );
  const authorization = fc.tuple(
    fc.oneof(
      w(8, fc.constant("Bearer")),
      w(1, fc.constantFrom("bearer", "BEARER", "Basic", "Token", "Bearer:", "", "ApiKey")),
    ),
    fc.oneof(w(8, fc.constant(" ")), w(1, fc.constantFrom("  ", "\t", "", " \t "))),
    token,
    fc.oneof(w(8, fc.constant("")), w(1, fc.constantFrom(" extra", ",", " ", "\t\t", "; x=1"))),
  ).map(([scheme, sep, key, suffix]) => `${scheme}${sep}${key}${suffix}`);

  const headers = fc.record({
    authorization: fc.oneof(w(6, authorization), w(1, fc.constant(null))),
    contentType: fc.oneof(w(6, contentType), w(1, fc.constant(null))),
    requestId: fc.oneof(w(1, requestId), w(2, fc.constant(null))),
    extra: fc.oneof(w(3, fc.constant([])), w(1, fc.array(extraHeader, { maxLength: 4 }))),
  }).map(({ authorization, contentType, requestId, extra }) => {
    const list: [string, string][] = [];
    if (authorization !== null) list.push(["Authorization", authorization]);
    if (contentType !== null) list.push(["Content-Type", contentType]);
    if (requestId !== null) list.push(["X-Request-ID", requestId]);
    return [...list, ...extra];
  });

  const anything: fc.Arbitrary<Hostile> = fc.record({
    method: methodsAround([m.method]),
    path: fc.oneof(w(14, routePaths(m, a)), w(2, openapiPaths), w(4, ctx.stray)),
    query: queries(m),
    headers,
    body: ctx.bodiesOf.get(m) ?? ctx.foreignBodies,
    contentLength,
  }).map((r) => ({ route: m.index, aim: `${m.label}: anything`, ...r }));

  // valid(self), sent by a key of self's that holds the permission: the gateway must accept it.
  const base = fc.record({
    key: fc.constantFrom(...keys.permitted),
    type: fc.constantFrom("application/json", "application/json; charset=utf-8"),
    rid: fc.option(saneRequestId),
    indent: fc.constantFrom<(number | undefined)[]>(undefined, 2),
    contentLength: fc.constantFrom<ContentLength>("absent", "honest"),
  }).map(({ key, type, rid, indent, contentLength }): Hostile => {
    const list: [string, string][] = [["Authorization", `Bearer ${key}`]];
    if (m.body) list.push(["Content-Type", type]);
    if (rid !== null) list.push(["X-Request-ID", rid]);
    return {
      route: m.index,
      aim: `${m.label}: valid(self)`,
      method: m.method,
      path: `${BASE_PATH}${render(m, m.valid.params)}`,
      query: serializeQuery(m.valid.query),
      headers: list,
      body: m.body
        ? { kind: "text", text: JSON.stringify(m.body.value, null, indent) }
        : { kind: "none" },
      contentLength: m.body ? contentLength : "absent",
      expect: { kind: "ok" },
    };
  });

  // Another key in valid(self)'s place, with what it must get when that is knowable here.
  const bearer = (key: string) => `Bearer ${key}`;
  const status = (status: number, code: string): Expect => ({ kind: "status", status, code });
  const keyCase: fc.Arbitrary<{ auth: string | null; expect?: Expect }> = fc.oneof(
    w(
      3,
      fc.constantFrom(...keys.permitted).map((k) => ({
        auth: bearer(k),
        expect: { kind: "ok" } as Expect,
      })),
    ),
    w(
      2,
      fc.constantFrom(...keys.unpermitted, ...theirs.unpermitted).map((k) => ({
        auth: bearer(k),
        expect: status(403, "insufficient_permissions"),
      })),
    ),
    w(
      2,
      fc.oneof(
        fc.constantFrom(...keys.dead, ...theirs.dead, ...alterations(main)),
        madeUpKey,
      ).map((k) => ({ auth: bearer(k), expect: status(401, "invalid_key") })),
    ),
    w(1, fc.constant({ auth: null, expect: status(401, "invalid_key") })),
    // Another org's key on self's resources: what that gets is the route's business
    // (crossOrg below says it for each route).
    w(2, fc.constantFrom(...theirs.permitted).map((k) => ({ auth: bearer(k) }))),
    w(2, authorization.map((auth) => ({ auth }))),
  );

  type Field = "body" | "query" | "path" | "headers" | "key" | "method" | "contentLength";
  const fields: { weight: number; arbitrary: fc.Arbitrary<Field | null> }[] = [
    w(1, fc.constant(null)),
    w(2, fc.constant("path" as const)),
    w(m.queryNames.length ? 3 : 1, fc.constant("query" as const)),
    w(1, fc.constant("headers" as const)),
    w(2, fc.constant("key" as const)),
    w(1, fc.constant("method" as const)),
  ];
  if (m.body) {
    fields.push(w(5, fc.constant("body" as const)), w(1, fc.constant("contentLength" as const)));
  }
  const oneOff = fc.tuple(base, anything, fc.oneof(...fields), keyCase).map(
    ([v, x, field, kc]): Hostile => {
      if (field === null) return v;
      const aim = `${m.label}: valid(self) but its ${field}`;
      if (field === "key") {
        const list = v.headers.filter(([n]) => n !== "Authorization");
        if (kc.auth !== null) list.unshift(["Authorization", kc.auth]);
        return { ...v, aim, headers: list, expect: kc.expect };
      }
      if (field === "method") return { ...v, aim, method: x.method, expect: { kind: "method" } };
      return { ...v, aim, [field]: x[field], expect: undefined };
    },
  );

  const extras: { weight: number; arbitrary: fc.Arbitrary<Hostile> }[] = [];

  // The route's own cross-org cases, each with the answer its declaration names.
  const cross = m.test.crossOrg(a, b);
  if (cross.length) {
    extras.push(w(
      1,
      fc.tuple(base, fc.nat(cross.length - 1)).map(([v, i]): Hostile => ({
        ...v,
        aim: `${m.label}: ${cross[i].name}`,
        path: `${BASE_PATH}${render(m, cross[i].params)}`,
        query: serializeQuery(cross[i].query),
        body: cross[i].body === undefined
          ? { kind: "none" }
          : { kind: "text", text: JSON.stringify(cross[i].body) },
        expect: { kind: "crossOrg", index: i },
      })),
    ));
  }

  // Arrays at their pinned maximum (accepted) and past it up to as many as fit in a body
  // (refused by validation, whatever the database would make of them).
  for (const hole of m.body?.holes ?? []) {
    if (hole.max === undefined) continue;
    const max = hole.max;
    const own = m.test.property?.distinctItems?.[hole.path] ?? hole.items;
    const uuids = own.length > 0 && own.every((i) => typeof i === "string" && UUID.test(i));
    const itemBytes = uuids
      ? 39
      : Math.max(...own.map((i) => utf8.encode(JSON.stringify(i)).length + 1));
    const fit = Math.floor(
      (MAX_BODY_BYTES - hole.before.length - hole.after.length - 1) / itemBytes,
    );
    const item = fc.constantFrom<HugeItem>(
      ...(uuids ? ["own", "uuid"] as const : ["own"] as const),
    );
    const grown = (n: number, it: HugeItem): BodySpec => ({
      kind: "huge",
      n,
      item: it,
      before: hole.before,
      after: hole.after,
      own,
    });
    if (fit > max) {
      extras.push(w(
        2,
        fc.tuple(base, fc.integer({ min: max + 1, max: fit }), item).map(([v, n, it]) => ({
          ...v,
          aim: `${m.label}: ${n} items in ${hole.path} (at most ${max})`,
          body: grown(n, it),
          expect: { kind: "tooMany", path: hole.path } as Expect,
        })),
      ));
    }
    // Sent by self's key with every permission: a body at its maximum may ask for all of them
    // (the permissions a new API key grants).
    const all: [string, string] = ["Authorization", `Bearer ${a.keys.all}`];
    extras.push(w(
      1,
      fc.tuple(base, fc.integer({ min: Math.max(1, max - 3), max }), item).map(([v, n, it]) => ({
        ...v,
        aim: `${m.label}: ${n} items in ${hole.path} (at most ${max})`,
        headers: v.headers.map((h) => h[0] === "Authorization" ? all : h),
        body: grown(n, it),
        expect: { kind: "status", status: m.success } as Expect,
      })),
    ));
  }

  return fc.oneof(w(12, anything), w(8, oneOff), ...extras);
}

/** Every request of a run: each declared route equally, each request around one of them. */
export function hostileRequests(models: RouteModel[], a: Tenant, b: Tenant) {
  const bodiesOf = new Map<RouteModel, fc.Arbitrary<BodySpec>>();
  for (const m of models) if (m.body) bodiesOf.set(m, bodiesFor(m.body, a, b));
  const foreignBodies = fc.oneof(...bodiesOf.values(), bodiesFor(bodyModel({}), a, b));
  const ctx: Ctx = { a, b, models, stray: strayPaths(models), foreignBodies, bodiesOf };
  const redact = redactor([["A", a], ["B", b]]);
  const arbitrary = fc.oneof(...models.map((m) => routeRequests(m, ctx))).map((h) =>
    Object.assign(h, { [fc.toStringMethod]: () => redact(describe(h)) })
  );
  return { arbitrary, redact };
}

/** fast-check prints counterexamples with this: long strings and byte arrays cut short. */
function describe(h: Hostile): string {
  return JSON.stringify(h, (_key, value) => {
    if (value instanceof Uint8Array) {
      const hex = Array.from(value.subarray(0, 48), (b) => b.toString(16).padStart(2, "0"));
      return `<${value.length} bytes: ${hex.join(" ")}${value.length > 48 ? " ..." : ""}>`;
    }
    if (typeof value === "string" && value.length > 2_000) {
      return `${value.slice(0, 1_000)}...<${value.length} chars>`;
    }
    return value;
  });
}

/** Counterexamples name the keys, and the variants made of them, instead of printing them. */
function redactor(tenants: [string, Tenant][]): (text: string) => string {
  const names = namedKeys(tenants).flatMap(([name, key]) => [
    { pattern: new RegExp(`${key}(?![0-9A-Za-z-])`, "g"), name: `<${name} key>` },
    {
      pattern: new RegExp(`${key.slice(0, 16)}[0-9A-Za-z-]*`, "gi"),
      name: `<${name} key, altered>`,
    },
  ]);
  return (text) => names.reduce((out, { pattern, name }) => out.replace(pattern, name), text);
}
