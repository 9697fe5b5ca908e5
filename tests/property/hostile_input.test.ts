/**
 * Hostile input, generated: fast-check builds thousands of requests (random JSON and non-JSON
 * bodies, huge and deeply nested arrays, wrong types, NUL bytes and lone surrogates,
 * `__proto__`/`constructor` keys, non-UTF-8 bytes, oversized bodies, random headers, content
 * types, paths and methods) and sends them in-process to the real app on a real database.
 *
 * Properties, for every request: never a 5xx; an `X-Request-ID` on every response; every non-2xx
 * answer (HEAD and the CORS preflight aside, which carry no body) is exactly the error envelope
 * with a known code matching its status; the database is byte-for-byte unchanged unless the
 * answer was 200; a 200 on the link route counts every distinct id once and only the key's own
 * org's contacts as updated; oversized bodies are 413; no plaintext key or key hash in any
 * response. At the end: none in any log line either.
 *
 * Replay a failure with the seed it prints: `FC_SEED=<n> deno test --allow-all tests/property/`
 * (add `FC_PATH=<path>` from fast-check's report to run only the shrunk counterexample; the
 * database then lacks the writes of the runs before it, so prefer the seed alone).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/app.ts";
import { ERROR_CODES, type ErrorCode } from "../../supabase/functions/api-gateway/errors.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/lib/api_key.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { companyOf, createTenant, databaseDigest, type Tenant } from "../harness/fixtures.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const MIN_REQUESTS = 2_000;
/** FC_RUNS may raise the number of generated requests, never lower it below the minimum. */
const NUM_RUNS = Math.max(MIN_REQUESTS, Number(Deno.env.get("FC_RUNS") ?? 0) || 0);
const SEED = seedFromEnv();
const REPLAY_PATH = Deno.env.get("FC_PATH") || undefined;
const REPLAY = `FC_SEED=${SEED} deno test --allow-all tests/property/`;

function seedFromEnv(): number {
  const raw = Deno.env.get("FC_SEED")?.trim();
  if (!raw) return crypto.getRandomValues(new Int32Array(1))[0];
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${raw}`);
  return seed;
}

/** The status each error code is answered with: a new code fails `deno check` here. */
const STATUS_OF: Record<ErrorCode, number> = {
  validation_error: 400,
  invalid_key: 401,
  insufficient_permissions: 403,
  company_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
};

/** Statuses a run of this size must reach, or the generators have drifted into vacuity. */
const MUST_REACH = [200, 204, 400, 401, 403, 404, 405, 413, 415];

// ---- what is generated ----

type BodySpec =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array<ArrayBuffer> }
  | { kind: "deep"; depth: number; open: "[" | '{"a":'; where: DeepWhere; balanced: boolean }
  | { kind: "huge"; n: number; item: "a-contact" | "uuid" | "zero" | "null" | "array" | "text" }
  | { kind: "oversized"; size: number; style: "padded-link" | "long-string" | "bytes" };
type DeepWhere = "root" | "contact_ids" | "extra";

/** How Content-Length is set on a request with a body: absent, true, or a lie. */
type ContentLength = "absent" | "honest" | "half" | "over" | { raw: string };

interface Hostile {
  method: string;
  path: string;
  headers: [string, string][];
  body: BodySpec;
  contentLength: ContentLength;
}

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/** One character of anything: NUL, lone surrogates, quotes, line separators, astral planes. */
const hostileUnit = fc.oneof(
  w(3, fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))),
  w(
    2,
    fc.constantFrom("\u0000", "\ud800", "\udfff", "\ufffd", "\ufeff", "\u2028", '"', "\\", "/"),
  ),
  w(1, fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))),
  w(1, fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c))),
);
const hostileString = fc.string({ unit: hostileUnit, maxLength: 40 });
const hostileJson = fc.jsonValue({ maxDepth: 3, stringUnit: hostileUnit });

/** A header value Headers accepts: Latin-1 without NUL, CR or LF. */
const headerValue = (maxLength = 60) =>
  fc.string({
    unit: fc.oneof(
      w(6, fc.integer({ min: 0x20, max: 0x7e })),
      w(1, fc.integer({ min: 0x80, max: 0xff })),
      w(1, fc.constant(0x09)),
    ).map((c) => String.fromCharCode(c)),
    maxLength,
  });
const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}$/)
  .filter((n) => !["content-length", "transfer-encoding"].includes(n.toLowerCase()));

const utf8 = new TextEncoder();
/** Percent-encodes every byte that is not unreserved (lone surrogates become U+FFFD first). */
const percentEncode = (s: string) =>
  Array.from(
    utf8.encode(s),
    (b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
const encodeAll = (s: string) =>
  Array.from(utf8.encode(s), (b) => `%${b.toString(16).padStart(2, "0")}`).join("");

/** A distinct, valid, never-stored UUID per index. */
const syntheticUuid = (i: number) =>
  `00000000-0000-4000-8000-${(i + 1).toString(16).padStart(12, "0")}`;

/** Every request the run sends, built around two tenants: A (whose keys are mostly used) and
 * B, "another org". */
function hostileRequests(a: Tenant, b: Tenant): fc.Arbitrary<Hostile> {
  const nearMisses = (id: string) => [
    id.replaceAll("-", ""),
    `{${id}}`,
    `urn:uuid:${id}`,
    ` ${id}`,
    `${id}\u0000`,
    id.slice(0, -1),
    `${id}0`,
    id.replace(/[0-9]/, "\uff11"),
  ];
  const contactId = fc.oneof(
    w(8, fc.constantFrom(...a.contactIds)),
    w(2, fc.constantFrom(...a.contactIds).map((id) => id.toUpperCase())),
    w(2, fc.constantFrom(...b.contactIds)),
    w(2, fc.uuid()),
    w(1, fc.constantFrom(...a.companyIds)),
    w(1, fc.tuple(fc.constantFrom(...a.contactIds), fc.nat(7)).map(([id, i]) => nearMisses(id)[i])),
    w(1, hostileString),
    w(1, hostileJson),
  );
  const extraFields = fc.oneof(
    w(6, fc.constant({})),
    w(1, fc.dictionary(hostileString, hostileJson, { maxKeys: 3 })),
  );
  const linkText = fc.tuple(
    fc.array(contactId, { maxLength: 12 }),
    extraFields,
    fc.constantFrom<(number | undefined)[]>(undefined, undefined, 2, 0),
  ).map(([ids, extra, indent]) => JSON.stringify({ contact_ids: ids, ...extra }, null, indent));

  // `__proto__` and friends as real own keys: the JSON text is written by hand.
  const protoKey = fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "contact_ids",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "__defineGetter__",
    "then",
    "length",
  );
  const protoValue = fc.oneof(
    hostileJson.map((v) => JSON.stringify(v)),
    fc.array(contactId, { maxLength: 4 }).map((ids) => JSON.stringify(ids)),
    fc.constant(JSON.stringify({ contact_ids: [a.contactIds[0]] })),
    fc.constant('{"__proto__":{"polluted":true}}'),
    fc.constant('{"constructor":{"prototype":{"polluted":true}}}'),
  );
  const protoText = fc.array(fc.tuple(protoKey, protoValue), { minLength: 1, maxLength: 5 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);

  const mutatedLink = fc.tuple(
    linkText,
    fc.nat(),
    fc.nat(),
    hostileUnit,
    fc.constantFrom("insert", "delete", "truncate", "replace"),
  ).map(([text, i, n, ch, op]) => {
    const at = i % (text.length + 1);
    switch (op) {
      case "insert":
        return text.slice(0, at) + ch + text.slice(at);
      case "delete":
        return text.slice(0, at) + text.slice(at + 1 + (n % 4));
      case "truncate":
        return text.slice(0, at);
      default:
        return text.slice(0, at) + ch + text.slice(at + 1);
    }
  });

  const jsonFragment = fc.constantFrom(
    "",
    " ",
    "{",
    "}",
    "[",
    "null",
    "true",
    "0",
    "-0",
    "1e999",
    '"contact_ids"',
    "{}",
    "[]",
    '{"contact_ids":',
    '{"contact_ids":null}',
    '{"contact_ids":{}}',
    '{"contact_ids":[null]}',
    '{"contact_ids":[]}',
    "\ufeff{}",
    "NaN",
    "undefined",
    "{'contact_ids': []}",
    '{"contact_ids":[1,],}',
    "/* */ {}",
  );

  // Byte sequences that are not UTF-8, dropped into an otherwise plausible body.
  const badBytes = fc.constantFrom(
    [0xff],
    [0xfe, 0xff],
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xe2, 0x82],
    [0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
  );
  const nonUtf8 = fc.tuple(badBytes, fc.constantFrom("value", "key", "raw", "utf16")).map(
    ([bad, where]) => {
      const id = a.contactIds[0];
      if (where === "utf16") {
        const text = JSON.stringify({ contact_ids: [id] });
        const out = new Uint8Array(2 + text.length * 2);
        out.set([0xff, 0xfe]);
        for (let i = 0; i < text.length; i++) out[2 + 2 * i] = text.charCodeAt(i);
        return out;
      }
      const [before, after] = where === "value"
        ? [`{"contact_ids":["${id}","`, `"]}`]
        : where === "key"
        ? [`{"contact_ids":["${id}"],"`, `":1}`]
        : ["", ""];
      return new Uint8Array([...utf8.encode(before), ...bad, ...utf8.encode(after)]);
    },
  );

  const body: fc.Arbitrary<BodySpec> = fc.oneof(
    w(12, linkText.map((text) => ({ kind: "text" as const, text }))),
    w(2, hostileJson.map((v) => ({ kind: "text" as const, text: JSON.stringify(v) }))),
    w(
      1,
      hostileJson.map((v) => ({ kind: "text" as const, text: JSON.stringify({ contact_ids: v }) })),
    ),
    w(2, protoText.map((text) => ({ kind: "text" as const, text }))),
    w(2, mutatedLink.map((text) => ({ kind: "text" as const, text }))),
    w(
      1,
      fc.string({ unit: hostileUnit, maxLength: 200 }).map((text) => ({
        kind: "text" as const,
        text,
      })),
    ),
    w(1, jsonFragment.map((text) => ({ kind: "text" as const, text }))),
    w(1, fc.uint8Array({ maxLength: 1024 }).map((bytes) => ({ kind: "bytes" as const, bytes }))),
    w(1, nonUtf8.map((bytes) => ({ kind: "bytes" as const, bytes }))),
    w(
      1,
      fc.record({
        kind: fc.constant("deep" as const),
        depth: fc.integer({ min: 1_000, max: 10_000 }),
        open: fc.constantFrom("[" as const, '{"a":' as const),
        where: fc.constantFrom<DeepWhere>("root", "contact_ids", "extra"),
        balanced: fc.boolean(),
      }),
    ),
    w(
      1,
      fc.record({
        kind: fc.constant("huge" as const),
        n: fc.oneof(fc.integer({ min: 95, max: 105 }), fc.integer({ min: 1_000, max: 20_000 })),
        item: fc.constantFrom(
          "a-contact" as const,
          "uuid" as const,
          "zero" as const,
          "null" as const,
          "array" as const,
          "text" as const,
        ),
      }),
    ),
    w(
      1,
      fc.record({
        kind: fc.constant("oversized" as const),
        size: fc.oneof(
          fc.constantFrom(MAX_BODY_BYTES, MAX_BODY_BYTES + 1),
          fc.integer({ min: MAX_BODY_BYTES + 1, max: 4 * MAX_BODY_BYTES }),
        ),
        style: fc.constantFrom(
          "padded-link" as const,
          "long-string" as const,
          "bytes" as const,
        ),
      }),
    ),
    w(1, fc.constant({ kind: "text" as const, text: "" })),
    w(1, fc.constant({ kind: "none" as const })),
  );

  const method = fc.oneof(
    w(14, fc.constant("POST")),
    w(6, fc.constantFrom("GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")),
    w(
      2,
      fc.constantFrom(
        "post",
        "get",
        "patch",
        "delete",
        "put",
        "options",
        "head",
        "PROPFIND",
        "M-SEARCH",
        "QUERY",
        "LINK",
        "PURGE",
      ),
    ),
    // Any token, but not the ones fetch forbids outright (the Request could not be built).
    w(
      1,
      fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/)
        .filter((m) => !["CONNECT", "TRACE", "TRACK"].includes(m.toUpperCase())),
    ),
  );

  const companyId = fc.oneof(
    w(12, fc.constantFrom(...a.companyIds)),
    w(2, fc.constantFrom(...b.companyIds)),
    w(1, fc.uuid()),
    w(1, fc.constantFrom(...a.companyIds).map((id) => id.toUpperCase())),
    w(1, fc.constantFrom(...a.companyIds).map(encodeAll)),
    w(1, fc.constantFrom(...a.contactIds)),
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
  const linkVariants: ((id: string) => string)[] = [
    (id) => `/api-gateway/v1/companies/${id}/contacts/link`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link/`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/LINK`,
    (id) => `/API-GATEWAY/v1/companies/${id}/contacts/link`,
    (id) => `/api-gateway/V1/companies/${id}/contacts/link`,
    (id) => `/api-gateway//v1/companies/${id}/contacts/link`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link?contact_ids=${id}&x=%ZZ`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link#fragment`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/./link`,
    (id) => `/api-gateway/v1/companies/x/../${id}/contacts/link`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link/..`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/%6c%69%6e%6b`,
    (id) => `/functions/v1/api-gateway/v1/companies/${id}/contacts/link`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link;x=1`,
    (id) => `/api-gateway/v1/companies/${id}%2Fcontacts%2Flink`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link%00`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link\\`,
    (id) => `/api-gateway/v1/companies/${id}/contacts/link/extra`,
  ];
  const linkPath = fc.oneof(
    w(4, companyId.map(linkVariants[0])),
    w(
      1,
      fc.tuple(companyId, fc.nat(linkVariants.length - 1)).map(([id, i]) => linkVariants[i](id)),
    ),
  );
  const openapiPath = fc.constantFrom(
    "/api-gateway/v1/openapi.json",
    "/api-gateway/v1/openapi.json/",
    "/api-gateway/v1/OPENAPI.JSON",
    "/api-gateway/v1/openapi.json?format=yaml",
    "/api-gateway/v1/openapi.json/..",
    "/api-gateway/v1/openapi.yaml",
    "/api-gateway/openapi.json",
  );
  const segment = fc.oneof(hostileString.map(percentEncode), hostileString);
  const otherPath = fc.oneof(
    fc.webPath().map((p) => `/api-gateway${p}`),
    fc.webPath().map((p) => `/${p}`),
    fc.array(segment, { maxLength: 6 }).map((s) => `/api-gateway/v1/${s.join("/")}`),
    fc.constantFrom(
      "/",
      "/api-gateway",
      "/api-gateway/",
      "/api-gateway/v1",
      "/api-gateway/v1/companies",
      "/api-gateway/v1/../../../etc/passwd",
      "/api-gateway/%2e%2e/%2e%2e/etc/passwd",
      "/api-gateway/v1/companies/..%2f..%2f..%2fetc%2fpasswd/contacts/link",
      "/api-gateway/v1/companies/%2e%2e/contacts/link",
      "/api-gateway/v1/%00",
      "/api-gateway/v1/%ZZ",
      "//api-gateway/v1/openapi.json",
      "/api-gateway/v1/companies/:id/contacts/link",
      "/api-gateway/v1/companies/{id}/contacts/link",
      "/api-gateway/v1/companies/*/contacts/link",
    ),
    fc.integer({ min: 1_000, max: 60_000 }).map((n) => `/api-gateway/v1/${"a".repeat(n)}`),
    fc.integer({ min: 300, max: 10_000 }).map((n) => `/api-gateway/v1/${"../".repeat(n)}x`),
    fc.integer({ min: 40, max: 20_000 }).map((n) =>
      `/api-gateway/v1/companies/${"f".repeat(n)}/contacts/link`
    ),
  );
  const path = fc.oneof(w(14, linkPath), w(2, openapiPath), w(4, otherPath));

  const token = fc.oneof(
    w(10, fc.constant(a.keys.write)),
    w(2, fc.constant(b.keys.write)),
    w(
      3,
      fc.constantFrom(
        a.keys.readOnly,
        a.keys.revoked,
        a.keys.expired,
        b.keys.readOnly,
        b.keys.revoked,
      ),
    ),
    w(1, fc.stringMatching(/^[0-9A-Za-z]{52}$/).map((s) => `wbk_${s}`)),
    w(
      1,
      fc.constantFrom(
        a.keys.write.slice(0, -1),
        `${a.keys.write}x`,
        a.keys.write.toLowerCase() === a.keys.write ? "wbk_" : a.keys.write.toLowerCase(),
        a.keys.write.replace("wbk_", "WBK_"),
        `${a.keys.write.slice(0, 20)}-${a.keys.write.slice(21)}`,
        "wbk_",
        "",
        "wbk_short",
        "null",
      ),
    ),
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

  const contentType = fc.oneof(
    w(12, fc.constant("application/json")),
    w(
      3,
      fc.constantFrom(
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "APPLICATION/JSON",
        "application/vnd.api+json",
        "application/merge-patch+json",
        "application/json; foo",
        "application/json ; charset=utf-8",
        "application/vnd.v2+json",
        'application/json; charset="utf-8"',
        "application/json;",
        "application/json, text/plain",
        "application/jsonx",
        "application/json5",
        "text/json",
        "json",
      ),
    ),
    w(
      2,
      fc.constantFrom(
        "text/plain",
        "text/plain;charset=UTF-8",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "",
        "*/*",
      ),
    ),
    w(1, headerValue()),
  );
  const requestId = fc.oneof(
    fc.stringMatching(/^[\w=-]{1,128}$/),
    fc.integer({ min: 129, max: 400 }).map((n) => "r".repeat(n)),
    headerValue(),
    fc.constantFrom("", "<script>alert(1)</script>", "a b", "../../etc", "id\t1"),
  );
  const extraHeader = fc.oneof(
    fc.tuple(headerName, headerValue()),
    fc.tuple(
      fc.constantFrom(
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
        "Accept",
        "Accept-Encoding",
        "Cookie",
        "X-Forwarded-For",
        "Transfer-Encoding",
        "Authorization",
        "Content-Type",
        "X-Request-ID",
      ),
      headerValue(),
    ),
  );
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

  const contentLength: fc.Arbitrary<ContentLength> = fc.oneof(
    w(6, fc.constant("absent" as const)),
    w(6, fc.constant("honest" as const)),
    w(1, fc.constantFrom("half" as const, "over" as const)),
    w(
      1,
      fc.constantFrom("abc", "-1", "", "1e6", "0x10", "99999999999999999999").map((raw) => ({
        raw,
      })),
    ),
  );

  // Counterexamples name the keys, and the variants made of them, instead of printing them.
  const keyNames = ([["A", a], ["B", b]] as const).flatMap(([org, tenant]) =>
    Object.entries(tenant.keys).flatMap(([use, key]) => [
      { pattern: new RegExp(`${key}(?![0-9A-Za-z-])`, "g"), name: `<${org} ${use} key>` },
      {
        pattern: new RegExp(`${key.slice(0, 16)}[0-9A-Za-z-]*`, "gi"),
        name: `<${org} ${use} key, altered>`,
      },
    ])
  );
  const redact = (text: string) =>
    keyNames.reduce((out, { pattern, name }) => out.replace(pattern, name), text);

  const anything: fc.Arbitrary<Hostile> = fc.record({
    method,
    path,
    headers,
    body,
    contentLength,
  });

  // A request the gateway must accept, then (mostly) one dimension of it made hostile: that is
  // what reaches the deep end of the pipeline (zod, the handler, the database).
  const validId = fc.oneof(
    w(6, fc.constantFrom(...a.contactIds)),
    w(1, fc.constantFrom(...a.contactIds).map((id) => id.toUpperCase())),
    w(1, fc.constantFrom(...b.contactIds)),
    w(1, fc.uuid()),
  );
  const valid: fc.Arbitrary<Hostile> = fc.record({
    method: fc.constant("POST"),
    path: fc.constantFrom(...a.companyIds).map(linkVariants[0]),
    headers: fc.tuple(
      fc.constantFrom("application/json", "application/json; charset=utf-8"),
      fc.option(fc.stringMatching(/^[\w=-]{1,64}$/)),
    ).map(([type, rid]) => {
      const list: [string, string][] = [
        ["Authorization", `Bearer ${a.keys.write}`],
        ["Content-Type", type],
      ];
      if (rid !== null) list.push(["X-Request-ID", rid]);
      return list;
    }),
    body: fc.array(validId, { minLength: 1, maxLength: 10 }).map((ids) => ({
      kind: "text" as const,
      text: JSON.stringify({ contact_ids: ids }),
    })),
    contentLength: fc.constantFrom<ContentLength>("absent", "honest"),
  });
  const hostileField = fc.oneof(
    w(1, fc.constant(null)),
    w(5, fc.constant("body" as const)),
    w(2, fc.constant("headers" as const)),
    w(2, fc.constant("path" as const)),
    w(1, fc.constant("method" as const)),
    w(1, fc.constant("contentLength" as const)),
  );
  const oneOff = fc.tuple(valid, anything, hostileField)
    .map(([v, x, field]): Hostile => field === null ? v : { ...v, [field]: x[field] });

  return fc.oneof(w(3, anything), w(2, oneOff)).map((h) =>
    Object.assign(h, { [fc.toStringMethod]: () => redact(describe(h)) })
  );
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

/** The bytes a body spec stands for (null: no body at all). */
function materialize(body: BodySpec, a: Tenant): Uint8Array<ArrayBuffer> | null {
  switch (body.kind) {
    case "none":
      return null;
    case "text":
      return utf8.encode(body.text);
    case "bytes":
      return body.bytes;
    case "deep": {
      const close = body.open === "[" ? "]" : "}";
      const inner = body.open.repeat(body.depth) + "0" +
        close.repeat(body.balanced ? body.depth : body.depth - 1);
      const text = body.where === "root"
        ? inner
        : body.where === "contact_ids"
        ? `{"contact_ids":${inner}}`
        : `{"contact_ids":["${a.contactIds[0]}"],"x":${inner}}`;
      return utf8.encode(text);
    }
    case "huge": {
      const item = (i: number) => {
        switch (body.item) {
          case "a-contact":
            return JSON.stringify(a.contactIds[i % a.contactIds.length]);
          case "uuid":
            return JSON.stringify(syntheticUuid(i));
          case "zero":
            return "0";
          case "null":
            return "null";
          case "array":
            return "[]";
          default:
            return '"x"';
        }
      };
      return utf8.encode(`{"contact_ids":[${Array.from({ length: body.n }, (_, i) => item(i))}]}`);
    }
    case "oversized": {
      if (body.style === "bytes") return new Uint8Array(body.size).fill(0x41);
      const id = a.contactIds[0];
      const text = body.style === "padded-link"
        ? `{"contact_ids":["${id}"]`
        : `{"contact_ids":["${id}"],"pad":"`;
      const end = body.style === "padded-link" ? "}" : '"}';
      const pad = body.style === "padded-link" ? " " : "x";
      return utf8.encode(text + pad.repeat(body.size - text.length - end.length) + end);
    }
  }
}

interface Built {
  request: Request;
  sent: Uint8Array<ArrayBuffer> | null;
}

function toRequest(h: Hostile, a: Tenant): Built {
  const bodiless = ["GET", "HEAD"].includes(h.method.toUpperCase());
  const sent = bodiless ? null : materialize(h.body, a);
  const headers = new Headers();
  for (const [name, value] of h.headers) headers.append(name, value);
  if (sent !== null && h.contentLength !== "absent") {
    const cl = h.contentLength;
    const value = cl === "honest"
      ? String(sent.length)
      : cl === "half"
      ? String(Math.floor(sent.length / 2))
      : cl === "over"
      ? String(sent.length + MAX_BODY_BYTES)
      : cl.raw;
    headers.set("Content-Length", value);
  }
  return {
    request: new Request(`http://localhost${h.path}`, { method: h.method, headers, body: sent }),
    sent,
  };
}

// ---- the properties of one answer ----

type Json = ReturnType<typeof JSON.parse>;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) &&
  Object.getPrototypeOf(v) === Object.prototype;

function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`${what} is not JSON: ${text.slice(0, 300)}`);
  }
}

/** Exactly `{error: {code, message, details?}}`, with a known code that matches the status. */
function assertEnvelope(status: number, text: string) {
  const json = parseJson(text, `the ${status} body`);
  assert.ok(isPlainObject(json), `the ${status} body is not an object: ${text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(json), ["error"], text.slice(0, 300));
  const error = json.error;
  assert.ok(isPlainObject(error), text.slice(0, 300));
  const keys = Object.keys(error).sort();
  assert.ok(
    keys.join() === "code,message" || keys.join() === "code,details,message",
    `envelope keys ${keys.join()}: ${text.slice(0, 300)}`,
  );
  assert.ok(
    (ERROR_CODES as readonly unknown[]).includes(error.code),
    `unknown code: ${text.slice(0, 300)}`,
  );
  assert.equal(STATUS_OF[error.code as ErrorCode], status, `code ${error.code} on ${status}`);
  assert.equal(typeof error.message, "string");
  assert.ok((error.message as string).length > 0);
  if ("details" in error) {
    assert.ok(Array.isArray(error.details), text.slice(0, 300));
    for (const d of error.details as unknown[]) {
      assert.ok(isPlainObject(d), text.slice(0, 300));
      assert.deepEqual(Object.keys(d).sort(), ["code", "message", "path"]);
      for (const v of Object.values(d)) assert.equal(typeof v, "string");
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SANE_REQUEST_ID = /^[\w=-]{1,128}$/;
const LINKED_COMPANY = /\/companies\/([^/]+)\/contacts\/link$/i;

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `hostile input, generated [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { app, logs, settle } = buildApp(target.db);
      const a = await createTenant(target.owner, { companies: 2, contacts: 6 });
      const b = await createTenant(target.owner, { companies: 1, contacts: 3 });
      const plaintexts = [...Object.values(a.keys), ...Object.values(b.keys)];
      const secrets = [...plaintexts, ...await Promise.all(plaintexts.map(hashApiKey))];
      const tenantOfKey = new Map([[a.keys.write, a], [b.keys.write, b]]);

      let sentCount = 0;
      const statuses: Record<number, number> = {};
      let baseline = await databaseDigest(target.owner);

      /** Sends one request and checks everything but the digest; returns the status. */
      async function sendAndCheck(h: Hostile): Promise<number> {
        const { request, sent } = toRequest(h, a);
        const method = request.method;
        const requestHeaders = new Headers(request.headers);
        const res = await app.request(request);
        const text = await res.text();
        sentCount++;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const context = `${method} ${request.url.slice(0, 200)} -> ${res.status} ${
          text.slice(0, 300)
        }`;

        assert.ok(res.status < 500, `5xx: ${context}`);
        assertNoSecrets([text, ...[...res.headers].map(([k, v]) => `${k}: ${v}`)], secrets);
        assert.equal(Object.hasOwn(Object.prototype, "polluted"), false, "prototype pollution");

        const rid = res.headers.get("x-request-id");
        assert.ok(rid, `no X-Request-ID: ${context}`);
        const mine = requestHeaders.get("x-request-id");
        if (mine !== null && SANE_REQUEST_ID.test(mine)) assert.equal(rid, mine, context);
        else assert.match(rid, UUID, context);

        if (method === "OPTIONS") {
          // The CORS preflight, answered before anything else and without auth.
          assert.equal(res.status, 204, context);
          assert.equal(text, "", context);
          return res.status;
        }

        // Oversized bodies, when the Content-Length (if any) tells the truth.
        const cl = requestHeaders.get("content-length");
        const honest = cl === null || requestHeaders.has("transfer-encoding") ||
          (sent !== null && cl === String(sent.length));
        if (sent !== null && honest) {
          assert.equal(
            res.status === 413,
            sent.length > MAX_BODY_BYTES,
            `413 iff > 64 KiB: ${context}`,
          );
        }
        if (
          sent !== null && cl !== null && !requestHeaders.has("transfer-encoding") &&
          Number.parseInt(cl, 10) > MAX_BODY_BYTES
        ) {
          assert.equal(res.status, 413, `declared > 64 KiB: ${context}`);
        }

        if (method === "HEAD") {
          assert.equal(text, "", context);
          assert.ok([200, 404, 405].includes(res.status), context);
          return res.status;
        }
        if (res.status < 200 || res.status >= 300) {
          assertEnvelope(res.status, text);
          assert.match(res.headers.get("content-type") ?? "", /^application\/json/, context);
          if (res.status === 401) {
            assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/, context);
          }
          if (res.status === 405) assert.ok(res.headers.get("allow"), context);
          return res.status;
        }

        assert.equal(res.status, 200, context);
        const json = parseJson(text, "the 200 body");
        if (method === "GET") {
          assert.equal(json.openapi, "3.1.0", context);
          return res.status;
        }

        // A link: every distinct id counted once, only the key's own contacts updated.
        assert.equal(method, "POST", context);
        assert.ok(isPlainObject(json) && isPlainObject(json.data), context);
        assert.deepEqual(Object.keys(json).sort(), ["data"], context);
        const data = json.data as Record<string, unknown>;
        assert.deepEqual(Object.keys(data).sort(), ["failed", "failed_ids", "updated"], context);
        const { updated, failed, failed_ids: failedIds } = data as {
          updated: number;
          failed: number;
          failed_ids: string[];
        };
        assert.ok(Number.isInteger(updated) && updated >= 0, context);
        assert.ok(Number.isInteger(failed) && failed >= 0, context);
        assert.ok(Array.isArray(failedIds) && failedIds.length === failed, context);

        assert.ok(sent !== null, context);
        const ids = (JSON.parse(new TextDecoder().decode(sent)).contact_ids as string[])
          .map((id) => id.toLowerCase());
        const distinct = new Set(ids);
        assert.equal(updated + failed, distinct.size, `updated + failed: ${context}`);
        const failedSet = new Set(failedIds.map((id) => id.toLowerCase()));
        assert.equal(failedSet.size, failed, `failed_ids are distinct: ${context}`);
        for (const id of failedSet) assert.ok(distinct.has(id), `failed id not sent: ${context}`);

        const [, key, ...rest] = (requestHeaders.get("authorization") ?? "").trim().split(/\s+/);
        const tenant = tenantOfKey.get(key);
        assert.ok(tenant && rest.length === 0, `200 without a write key: ${context}`);
        const owned = [...distinct].filter((id) => tenant.contactIds.includes(id));
        assert.equal(updated, owned.length, `only the org's own contacts: ${context}`);
        assert.ok(owned.every((id) => !failedSet.has(id)), context);

        // Percent-encoded unreserved characters are the same URL (RFC 3986 6.2.2.2).
        const company = LINKED_COMPANY.exec(safeDecode(new URL(request.url).pathname));
        assert.ok(company, `200 off the link route: ${context}`);
        const companyId = company[1].toLowerCase();
        assert.ok(tenant.companyIds.includes(companyId), `another org's company: ${context}`);
        const linked = await companyOf(target.owner, owned);
        assert.ok(owned.every((id) => linked[id] === companyId), `not linked: ${context}`);
        return res.status;
      }

      await t.step(
        `${NUM_RUNS} generated requests: no 5xx, the envelope, no stray write`,
        async () => {
          console.log(
            `[${kind}] hostile input: ${NUM_RUNS} runs, seed ${SEED}` +
              (REPLAY_PATH ? `, path ${REPLAY_PATH}` : "") + ` (replay: ${REPLAY})`,
          );
          try {
            await fc.assert(
              fc.asyncProperty(hostileRequests(a, b), async (h) => {
                const before = baseline;
                let status = -1;
                try {
                  status = await sendAndCheck(h);
                } finally {
                  // Deferred work (the key's last-use write) belongs to the request.
                  await settle();
                  baseline = await databaseDigest(target.owner);
                }
                if (status !== 200) {
                  assert.equal(baseline, before, `a ${status} answer changed the database`);
                }
              }),
              { numRuns: NUM_RUNS, seed: SEED, path: REPLAY_PATH },
            );
          } catch (err) {
            console.error(
              `\n[${kind}] hostile input FAILED with seed ${SEED}. Replay: ${REPLAY}\n` +
                "(fast-check's report above/below names the counterexample and its path; " +
                "FC_PATH=<path> with the same FC_SEED replays only that case)\n",
            );
            throw err;
          }
          console.log(
            `[${kind}] hostile input: ${sentCount} generated requests sent, seed ${SEED}, ` +
              `statuses ${JSON.stringify(statuses)}`,
          );
          if (REPLAY_PATH === undefined) {
            assert.ok(sentCount >= MIN_REQUESTS, `only ${sentCount} requests were sent`);
            for (const status of MUST_REACH) {
              assert.ok(statuses[status] > 0, `no ${status} in ${JSON.stringify(statuses)}`);
            }
          }
        },
      );

      // Response bodies and headers were checked one by one above (keeping them all would hold
      // megabytes of validation details); the log lines are checked here, all together.
      await t.step("no key or key hash in any log line; nothing logged above info", async () => {
        await settle();
        assert.ok(logs.length >= sentCount, `${logs.length} log lines for ${sentCount} requests`);
        assertNoSecrets(logs, secrets);
        const errors = logs.map((l) => JSON.parse(l)).filter((l) => l.level !== "info");
        assert.deepEqual(errors, [], "no error or warning was logged");
      });
    },
  );
}
