/**
 * Where requests go: a route's path with hostile params and its near relatives, paths that are
 * no route, the OpenAPI document's neighbours, and query strings, hostile and valid-ish, from
 * the names the route's query declares.
 */
import fc from "fast-check";
import { BASE_PATH, PLATFORM_PREFIX } from "../../supabase/functions/api-gateway/paths.ts";
import type { Tenant } from "../harness/fixtures.ts";
import { cursorValue, encodeAll, hostileString, percentEncode, queryValue, w } from "./hostile.ts";
import type { RouteModel } from "./model.ts";

export const serializeQuery = (query?: Record<string, string>) =>
  query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : "";

/** The route's path with `values` for its params (inserted as they are: already encoded). */
export const render = (m: RouteModel, values: Record<string, string>) =>
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

export function routePaths(m: RouteModel, a: Tenant): fc.Arbitrary<string> {
  const values = fc.record(Object.fromEntries(m.params.map((p) => [p, paramValue(m, p, a)])));
  const variants = pathVariants(m);
  return fc.oneof(
    w(4, values.map(variants[0])),
    w(1, fc.tuple(values, fc.nat(variants.length - 1)).map(([v, i]) => variants[i](v))),
  );
}

/** Paths that are not a route: the document's neighbours, templates filled with traversal and
 * router syntax, prefixes of the routes, random and enormous paths. */
export function strayPaths(models: RouteModel[]): fc.Arbitrary<string> {
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
export const openapiPaths = fc.constantFrom(
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
export function queries(m: RouteModel): fc.Arbitrary<string> {
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
      fc.tuple(known, queryValue, cursorValue, fc.boolean()).map((
        [n, v, cursor, keep],
      ): [string, string] => [n, keep && n in valid ? valid[n] : n === "cursor" ? cursor : v]),
    ),
    w(1, fc.tuple(unknownName, queryValue)),
    w(1, fc.tuple(nearName, queryValue)),
  );
  const join = (entries: [string, string][]) =>
    `?${entries.map(([k, v]) => `${k}=${v}`).join("&")}`;
  const hostile = fc.array(entry, { minLength: 1, maxLength: 6 }).map(join);
  const repeated = fc.tuple(known, fc.array(queryValue, { minLength: 2, maxLength: 5 }))
    .map(([n, values]) => join(values.map((v) => [n, v])));
  // Thousands of unknown names at once (up to a 16 KB query string and past it): the answer
  // must not grow with them.
  const many = fc.record({
    n: fc.integer({ min: 100, max: 4_000 }),
    prefix: fc.constantFrom("", "u"),
  })
    .map(({ n, prefix }) =>
      join(
        Array.from({ length: n }, (_, i): [string, string] => [`${prefix}${i.toString(36)}`, "1"]),
      )
    );
  const first = names[0];
  const odd = fc.constantFrom("?", "?&", "?=", "?&&&", "?=1", `?${first}`, `?${first}=`);
  if (!m.queryNames.length) {
    return fc.oneof(
      w(12, fc.constant("")),
      w(2, hostile),
      w(1, repeated),
      w(1, odd),
      w(1, many),
    );
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
    w(1, many),
  );
}
