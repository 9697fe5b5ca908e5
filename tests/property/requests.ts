/**
 * The generated requests, per declared route: everything hostile the building blocks make,
 * shaped by what the declaration says (method, path template, params, query names, the valid
 * body, the permission), and the one-off-from-valid strategy that reaches the deep end of the
 * pipeline: valid(self) with one dimension made hostile.
 */
import fc from "fast-check";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import { BASE_PATH, PLATFORM_PREFIX } from "../../supabase/functions/api-gateway/paths.ts";
import type { Tenant } from "../harness/fixtures.ts";
import {
  badBytes,
  type ContentLength,
  contentLength,
  contentType,
  encodeAll,
  extraHeader,
  headerValue,
  hostileJson,
  hostileString,
  hostileUnit,
  jsonFragments,
  methodsAround,
  nearMisses,
  percentEncode,
  pollutingValues,
  protoKeys,
  queryValue,
  requestId,
  saneRequestId,
  utf16,
  UUID,
  w,
} from "./hostile.ts";
import { type BodyModel, bodyModel, keyClasses, namedKeys, type RouteModel } from "./model.ts";
import type { BodySpec, Expect, Hostile, HugeItem } from "./wire.ts";

const utf8 = new TextEncoder();
const DROP = Symbol("drop");

/** The strings of a JSON value, depth first. */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(stringsIn);
}

/** Values for a body's strings: the valid body's own, the tenants' ids, near misses, noise. */
function stringPool(seedsGiven: string[], a: Tenant, b: Tenant): fc.Arbitrary<unknown> {
  const own = [...a.contactIds, ...a.companyIds];
  const theirs = [...b.contactIds, ...b.companyIds];
  const seeds = seedsGiven.length ? seedsGiven : own;
  return fc.oneof(
    w(8, fc.constantFrom(...seeds)),
    w(4, fc.constantFrom(...own)),
    w(2, fc.constantFrom(...seeds, ...own).map((s) => s.toUpperCase())),
    w(2, fc.constantFrom(...theirs)),
    w(2, fc.uuid()),
    w(1, fc.tuple(fc.constantFrom(...seeds), fc.nat(7)).map(([s, i]) => nearMisses(s)[i])),
    w(1, hostileString),
    w(1, hostileJson),
  );
}

const extraFields = fc.oneof(
  w(6, fc.constant({})),
  w(1, fc.dictionary(hostileString, hostileJson, { maxKeys: 3 })),
);

/** A value of the valid body's shape with every leaf regenerated: arrays regrown (0 to 12
 * items), strings from the pool, now and then a key dropped or unknown keys added. */
function reshape(value: unknown, pool: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  if (Array.isArray(value)) {
    const item = value.length ? reshape(value[0], pool) : hostileJson;
    return fc.array(item, { maxLength: 12 });
  }
  if (typeof value === "string") return pool;
  if (typeof value === "number") {
    return fc.oneof(
      w(4, fc.constant(value)),
      w(2, fc.integer()),
      w(1, fc.double()),
      w(1, hostileJson),
    );
  }
  if (typeof value === "boolean") {
    return fc.oneof(w(4, fc.constant(value)), w(1, fc.boolean()), w(1, hostileJson));
  }
  if (value === null || typeof value !== "object") return hostileJson;
  const members = Object.entries(value).map(([k, v]) =>
    fc.oneof(
      w(12, reshape(v, pool).map((x): [string, unknown] => [k, x])),
      w(1, fc.constant(DROP)),
    )
  );
  return fc.tuple(fc.tuple(...members), extraFields).map(([kept, extra]) => ({
    ...Object.fromEntries(kept.filter((m): m is [string, unknown] => m !== DROP)),
    ...extra,
  }));
}

/** The object `text` opened for one more member: `{"a":1,` (or the text, if not an object). */
const reopened = (text: string) =>
  !text.endsWith("}") ? text : text === "{}" ? "{" : `${text.slice(0, -1)},`;

/** The text before and after the value of a new member `key` of the object `text`. */
const memberSlot = (text: string, key: string) => ({
  before: `${reopened(text)}${JSON.stringify(key)}:`,
  after: text.endsWith("}") ? "}" : "",
});

/** Every hostile body built around one valid body. */
function bodies(model: BodyModel, pool: fc.Arbitrary<unknown>): fc.Arbitrary<BodySpec> {
  const text = (t: string): BodySpec => ({ kind: "text", text: t });
  const structured = fc.tuple(
    reshape(model.value, pool),
    fc.constantFrom<(number | undefined)[]>(undefined, undefined, 2, 0),
  ).map(([v, indent]) => JSON.stringify(v, null, indent));

  // `__proto__` and friends as real own keys: the JSON text is written by hand.
  const protoValue = fc.oneof(
    hostileJson.map((v) => JSON.stringify(v)),
    fc.array(pool, { maxLength: 4 }).map((ids) => JSON.stringify(ids)),
    fc.constant(model.text),
    fc.constantFrom(...pollutingValues),
  );
  const protoText = fc.array(
    fc.tuple(fc.constantFrom(...protoKeys, ...model.keys), protoValue),
    { minLength: 1, maxLength: 5 },
  ).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);

  const mutated = fc.tuple(
    structured,
    fc.nat(),
    fc.nat(),
    hostileUnit,
    fc.constantFrom("insert", "delete", "truncate", "replace"),
  ).map(([t, i, n, ch, op]) => {
    const at = i % (t.length + 1);
    switch (op) {
      case "insert":
        return t.slice(0, at) + ch + t.slice(at);
      case "delete":
        return t.slice(0, at) + t.slice(at + 1 + (n % 4));
      case "truncate":
        return t.slice(0, at);
      default:
        return t.slice(0, at) + ch + t.slice(at + 1);
    }
  });

  // Bytes that are not UTF-8, dropped into the valid body: in a string, as a key, alone; or the
  // valid body in UTF-16.
  const firstString = /[:[,]\s*"/.exec(model.text);
  const nonUtf8 = fc.tuple(badBytes, fc.constantFrom("value", "key", "raw", "utf16")).map(
    ([bad, where]) => {
      if (where === "utf16") return utf16(model.text);
      const cut = firstString ? firstString.index + firstString[0].length : 0;
      const [before, after] = where === "value"
        ? [model.text.slice(0, cut), model.text.slice(cut)]
        : where === "key"
        ? [`${reopened(model.text)}"`, '":1}']
        : ["", ""];
      return new Uint8Array([...utf8.encode(before), ...bad, ...utf8.encode(after)]);
    },
  );

  const extra = memberSlot(model.text, "x");
  const deepSlots = [{ before: "", after: "" }, model.holes[0] ?? model.firstValue, extra];
  const deep = fc.record({
    depth: fc.integer({ min: 1_000, max: 10_000 }),
    open: fc.constantFrom("[" as const, '{"a":' as const),
    slot: fc.constantFrom(...deepSlots),
    balanced: fc.boolean(),
  }).map(({ slot, ...d }): BodySpec => ({ kind: "deep", ...d, ...slot }));

  // Around each array's pinned maximum and far past it (a body without arrays gets one as an
  // extra member, around 100).
  const hugeSlots = model.holes.length ? model.holes : [{ ...extra, items: [], max: undefined }];
  const huge = fc.oneof(...hugeSlots.map((slot) => {
    const max = slot.max ?? 100;
    return fc.record({
      n: fc.oneof(
        fc.integer({ min: Math.max(0, max - 5), max: max + 5 }),
        fc.integer({ min: 1_000, max: 20_000 }),
      ),
      item: fc.constantFrom<HugeItem>("own", "uuid", "zero", "null", "array", "text"),
    }).map(({ n, item }): BodySpec => ({
      kind: "huge",
      n,
      item,
      before: slot.before,
      after: slot.after,
      own: slot.items,
    }));
  }));

  const oversized = fc.record({
    size: fc.oneof(
      fc.constantFrom(MAX_BODY_BYTES, MAX_BODY_BYTES + 1),
      fc.integer({ min: MAX_BODY_BYTES + 1, max: 4 * MAX_BODY_BYTES }),
    ),
    style: fc.constantFrom("padded" as const, "long-string" as const, "bytes" as const),
  }).map(({ size, style }): BodySpec => ({ kind: "oversized", size, style, base: model.text }));

  return fc.oneof(
    w(12, structured.map(text)),
    w(2, hostileJson.map((v) => text(JSON.stringify(v)))),
    w(
      1,
      hostileJson.map((v) =>
        text(model.firstValue.before + JSON.stringify(v) + model.firstValue.after)
      ),
    ),
    w(2, protoText.map(text)),
    w(2, mutated.map(text)),
    w(1, fc.string({ unit: hostileUnit, maxLength: 200 }).map(text)),
    w(1, jsonFragments(model.keys).map(text)),
    w(1, fc.uint8Array({ maxLength: 1024 }).map((bytes): BodySpec => ({ kind: "bytes", bytes }))),
    w(1, nonUtf8.map((bytes): BodySpec => ({ kind: "bytes", bytes }))),
    w(1, deep),
    w(1, huge),
    w(1, oversized),
    w(1, fc.constant(text(""))),
    w(1, fc.constant<BodySpec>({ kind: "none" })),
  );
}

const serializeQuery = (query?: Record<string, string>) =>
  query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : "";

/** The route's path with `values` for its params (inserted as they are: already encoded). */
const render = (m: RouteModel, values: Record<string, string>) =>
  m.template.replace(/\{(\w+)\}/g, (_, name) => values[name]);

/** The canonical path and its near relatives: case, slashes, dot segments, encodings, the
 * platform prefix, fragments, matrix params, trailing junk. */
function pathVariants(m: RouteModel): ((values: Record<string, string>) => string)[] {
  const segments = (v: Record<string, string>) => render(m, v).split("/");
  const templateSegments = m.template.split("/");
  const firstParam = templateSegments.findIndex((s) => /^\{\w+\}$/.test(s));
  const pivot = firstParam >= 0 ? firstParam : templateSegments.length - 1;
  const lastChanged = (v: Record<string, string>, f: (s: string) => string) => {
    const s = segments(v);
    s[s.length - 1] = f(s[s.length - 1]);
    return `${BASE_PATH}${s.join("/")}`;
  };
  return [
    (v) => `${BASE_PATH}${render(m, v)}`,
    (v) => `${BASE_PATH}${render(m, v)}/`,
    (v) => lastChanged(v, (s) => s.toUpperCase()),
    (v) => `${BASE_PATH.toUpperCase()}${render(m, v)}`,
    (v) => `${BASE_PATH}${render(m, v).replace("/v1/", "/V1/")}`,
    (v) => `${BASE_PATH}/${render(m, v)}`,
    (v) => `${BASE_PATH}${render(m, v)}#fragment`,
    (v) => lastChanged(v, (s) => `./${s}`),
    (v) => {
      const s = segments(v);
      s[pivot] = `x/../${s[pivot]}`;
      return `${BASE_PATH}${s.join("/")}`;
    },
    (v) => `${BASE_PATH}${render(m, v)}/..`,
    (v) => lastChanged(v, encodeAll),
    (v) => `${PLATFORM_PREFIX}${BASE_PATH}${render(m, v)}`,
    (v) => `${BASE_PATH}${render(m, v)};x=1`,
    (v) => {
      const s = segments(v);
      const cut = Math.min(pivot, s.length - 2);
      return `${BASE_PATH}${s.slice(0, cut + 1).join("/")}%2F${s.slice(cut + 1).join("%2F")}`;
    },
    (v) => `${BASE_PATH}${render(m, v)}%00`,
    (v) => `${BASE_PATH}${render(m, v)}\\`,
    (v) => `${BASE_PATH}${render(m, v)}/extra`,
  ];
}

/** Values for one path param: the valid one mostly, the other org's, random and altered ids,
 * the tenant's other ids, hostile text encoded, and the usual suspects. */
function paramValue(m: RouteModel, name: string, a: Tenant): fc.Arbitrary<string> {
  const own = m.valid.params[name];
  const other = m.validOther.params[name];
  return fc.oneof(
    w(12, fc.constant(own)),
    w(2, fc.constant(other)),
    w(1, fc.uuid()),
    w(1, fc.constant(own.toUpperCase())),
    w(1, fc.constant(encodeAll(own))),
    w(1, fc.constantFrom(...a.contactIds, ...a.companyIds)),
    w(1, hostileString.map(percentEncode)),
    w(
      1,
      fc.constantFrom(
        "",
        ".",
        "..",
        "%2e%2e",
        "%00",
        "%ZZ",
        "%E0%A4%A",
        "null",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        " ",
        "%20",
        "\u00e9",
      ),
    ),
  );
}

function routePaths(m: RouteModel, a: Tenant): fc.Arbitrary<string> {
  const values = fc.record(Object.fromEntries(m.params.map((p) => [p, paramValue(m, p, a)])));
  const variants = pathVariants(m);
  return fc.oneof(
    w(4, values.map(variants[0])),
    w(1, fc.tuple(values, fc.nat(variants.length - 1)).map(([v, i]) => variants[i](v))),
  );
}

/** Paths that are not a route: the document's neighbours, templates filled with traversal and
 * router syntax, prefixes of the routes, random and enormous paths. */
function strayPaths(models: RouteModel[]): fc.Arbitrary<string> {
  const withParams = models.filter((m) => m.params.length);
  const fill = (m: RouteModel, value: (name: string) => string) =>
    `${BASE_PATH}${m.template.replace(/\{(\w+)\}/g, (_, name) => value(name))}`;
  const templated = withParams.flatMap((m) => [
    fill(m, (n) => `:${n}`),
    fill(m, (n) => `{${n}}`),
    fill(m, () => "*"),
    fill(m, () => "..%2f..%2f..%2fetc%2fpasswd"),
    fill(m, () => "%2e%2e"),
  ]);
  const prefixes = models.flatMap((m) => {
    const s = render(m, m.valid.params).split("/");
    return s.slice(2, -1).map((_, i) => `${BASE_PATH}${s.slice(0, i + 3).join("/")}`);
  });
  const segment = fc.oneof(hostileString.map(percentEncode), hostileString);
  return fc.oneof(
    fc.webPath().map((p) => `${BASE_PATH}${p}`),
    fc.webPath().map((p) => `/${p}`),
    fc.array(segment, { maxLength: 6 }).map((s) => `${BASE_PATH}/v1/${s.join("/")}`),
    fc.constantFrom(
      "/",
      BASE_PATH,
      `${BASE_PATH}/`,
      `${BASE_PATH}/v1`,
      `${BASE_PATH}/v1/../../../etc/passwd`,
      `${BASE_PATH}/%2e%2e/%2e%2e/etc/passwd`,
      `${BASE_PATH}/v1/%00`,
      `${BASE_PATH}/v1/%ZZ`,
      `/${BASE_PATH}/v1/openapi.json`,
      ...templated,
      ...prefixes,
    ),
    fc.integer({ min: 1_000, max: 60_000 }).map((n) => `${BASE_PATH}/v1/${"a".repeat(n)}`),
    fc.integer({ min: 300, max: 10_000 }).map((n) => `${BASE_PATH}/v1/${"../".repeat(n)}x`),
    ...(withParams.length
      ? [
        fc.tuple(fc.constantFrom(...withParams), fc.integer({ min: 40, max: 20_000 }))
          .map(([m, n]) => fill(m, () => "f".repeat(n))),
      ]
      : []),
  );
}

export const OPENAPI_PATH = `${BASE_PATH}/v1/openapi.json`;
const openapiPaths = fc.constantFrom(
  OPENAPI_PATH,
  `${OPENAPI_PATH}/`,
  `${BASE_PATH}/v1/OPENAPI.JSON`,
  `${OPENAPI_PATH}?format=yaml`,
  `${OPENAPI_PATH}/..`,
  `${BASE_PATH}/v1/openapi.yaml`,
  `${BASE_PATH}/openapi.json`,
);

/** Query strings: none, valid-ish (each declared param present or not, small and huge numbers),
 * hostile lists of known, near-miss and unknown names, repeated params, and odd shapes. A route
 * without a query gets them too, named after its body's keys. */
function queries(m: RouteModel): fc.Arbitrary<string> {
  const valid = m.valid.query ?? {};
  const names = m.queryNames.length ? m.queryNames : [...(m.body?.keys ?? []), "x"];
  const known = fc.constantFrom(...names);
  const camel = (n: string) => n.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
  const nearName = fc.tuple(known, fc.nat(7)).map(([n, i]) =>
    [
      n.toUpperCase(),
      camel(n),
      `${n}[]`,
      `${n}[0]`,
      `${n}.x`,
      encodeAll(n),
      `%20${n}`,
      `${n}%00`,
    ][i]
  );
  const unknownName = fc.oneof(
    fc.constantFrom("x", "q", "callback", "__proto__", "constructor", "sort", "offset", "fields"),
    hostileString.map(percentEncode),
  );
  const entry = fc.oneof(
    w(
      6,
      fc.tuple(known, queryValue, fc.boolean()).map((
        [n, v, keep],
      ): [string, string] => [n, keep && n in valid ? valid[n] : v]),
    ),
    w(1, fc.tuple(unknownName, queryValue)),
    w(1, fc.tuple(nearName, queryValue)),
  );
  const join = (entries: [string, string][]) =>
    `?${entries.map(([k, v]) => `${k}=${v}`).join("&")}`;
  const hostile = fc.array(entry, { minLength: 1, maxLength: 6 }).map(join);
  const repeated = fc.tuple(known, fc.array(queryValue, { minLength: 2, maxLength: 5 }))
    .map(([n, values]) => join(values.map((v) => [n, v])));
  const first = names[0];
  const odd = fc.constantFrom("?", "?&", "?=", "?&&&", "?=1", `?${first}`, `?${first}=`);
  if (!m.queryNames.length) {
    return fc.oneof(w(12, fc.constant("")), w(2, hostile), w(1, repeated), w(1, odd));
  }
  const validish = fc.tuple(...m.queryNames.map((n) =>
    fc.option(
      fc.oneof(
        w(3, fc.constant(valid[n] ?? "1")),
        w(3, fc.integer({ min: 0, max: 120 }).map(String)),
        w(1, fc.integer({ min: 0, max: 2 ** 31 + 5 }).map(String)),
      ).map((v): [string, string] => [n, v]),
    )
  )).map((entries) => {
    const present = entries.filter((e): e is [string, string] => e !== null);
    return present.length ? join(present) : "";
  });
  return fc.oneof(
    w(3, fc.constant("")),
    w(4, validish),
    w(4, hostile),
    w(1, repeated),
    w(1, odd),
  );
}

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
    w(1, fc.stringMatching(/^[0-9A-Za-z]{52}$/).map((s) => `wbk_${s}`)),
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
        fc.stringMatching(/^[0-9A-Za-z]{52}$/).map((s) => `wbk_${s}`),
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
    const uuids = hole.items.length > 0 &&
      hole.items.every((i) => typeof i === "string" && UUID.test(i));
    const itemBytes = uuids
      ? 39
      : Math.max(...hole.items.map((i) => utf8.encode(JSON.stringify(i)).length + 1));
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
      own: hole.items,
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
    extras.push(w(
      1,
      fc.tuple(base, fc.integer({ min: Math.max(1, max - 3), max }), item).map(([v, n, it]) => ({
        ...v,
        aim: `${m.label}: ${n} items in ${hole.path} (at most ${max})`,
        body: grown(n, it),
        expect: { kind: "status", status: 200 } as Expect,
      })),
    ));
  }

  return fc.oneof(w(12, anything), w(8, oneOff), ...extras);
}

/** Every request of a run: each declared route equally, each request around one of them. */
export function hostileRequests(models: RouteModel[], a: Tenant, b: Tenant) {
  const bodiesOf = new Map<RouteModel, fc.Arbitrary<BodySpec>>();
  for (const m of models) {
    if (m.body) bodiesOf.set(m, bodies(m.body, stringPool(stringsIn(m.body.value), a, b)));
  }
  const foreignBodies = fc.oneof(
    ...bodiesOf.values(),
    bodies(bodyModel({}), stringPool([], a, b)),
  );
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
