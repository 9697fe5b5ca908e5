/**
 * Hostile building blocks that know nothing of any route: characters, strings, JSON, bytes,
 * header names and values, methods, content types, request ids and Content-Length lies. The
 * route-specific generators (requests.ts) are made of these.
 */
import fc from "fast-check";

export const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/** One character of anything: NUL, lone surrogates, quotes, line separators, astral planes. */
export const hostileUnit = fc.oneof(
  w(3, fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))),
  w(
    2,
    fc.constantFrom("\u0000", "\ud800", "\udfff", "\ufffd", "\ufeff", "\u2028", '"', "\\", "/"),
  ),
  w(1, fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))),
  w(1, fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c))),
);
export const hostileString = fc.string({ unit: hostileUnit, maxLength: 40 });
export const hostileJson = fc.jsonValue({ maxDepth: 3, stringUnit: hostileUnit });

/** A header value Headers accepts: Latin-1 without NUL, CR or LF. */
export const headerValue = (maxLength = 60) =>
  fc.string({
    unit: fc.oneof(
      w(6, fc.integer({ min: 0x20, max: 0x7e })),
      w(1, fc.integer({ min: 0x80, max: 0xff })),
      w(1, fc.constant(0x09)),
    ).map((c) => String.fromCharCode(c)),
    maxLength,
  });
export const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}$/)
  .filter((n) => !["content-length", "transfer-encoding"].includes(n.toLowerCase()));

const utf8 = new TextEncoder();
/** Percent-encodes every byte that is not unreserved (lone surrogates become U+FFFD first). */
export const percentEncode = (s: string) =>
  Array.from(
    utf8.encode(s),
    (b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
/** Percent-encodes every byte, unreserved ones included: the same URL (RFC 3986 6.2.2.2). */
export const encodeAll = (s: string) =>
  Array.from(utf8.encode(s), (b) => `%${b.toString(16).padStart(2, "0")}`).join("");

/** A distinct, valid, never-stored UUID per index. */
export const syntheticUuid = (i: number) =>
  `00000000-0000-4000-8000-${(i + 1).toString(16).padStart(12, "0")}`;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Strings that almost are `id`: what a lenient parser might accept. */
export const nearMisses = (id: string) => [
  id.replaceAll("-", ""),
  `{${id}}`,
  `urn:uuid:${id}`,
  ` ${id}`,
  `${id}\u0000`,
  id.slice(0, -1),
  `${id}0`,
  id.replace(/[0-9]/, "\uff11"),
];

/** Keys that reach the prototype, or shadow what code calls on objects. */
export const protoKeys = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "__defineGetter__",
  "then",
  "length",
];
export const pollutingValues = [
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
];

/** JSON that is not quite JSON, or not the JSON expected; `keys` adds fragments naming them. */
export function jsonFragments(keys: string[]): fc.Arbitrary<string> {
  const named = keys.flatMap((k) => {
    const q = JSON.stringify(k);
    return [
      q,
      `{${q}:`,
      `{${q}:null}`,
      `{${q}:{}}`,
      `{${q}:[null]}`,
      `{${q}:[]}`,
      `{'${k}': []}`,
      `{${q}:[1,],}`,
    ];
  });
  return fc.constantFrom(
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
    "{}",
    "[]",
    "\ufeff{}",
    "NaN",
    "undefined",
    "/* */ {}",
    ...named,
  );
}

/** Byte sequences that are not UTF-8. */
export const badBytes = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
);

/** UTF-16LE with a BOM: valid text, in an encoding the gateway does not speak. */
export function utf16(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(2 + text.length * 2);
  out.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) {
    out[2 + 2 * i] = text.charCodeAt(i) & 0xff;
    out[3 + 2 * i] = text.charCodeAt(i) >> 8;
  }
  return out;
}

/** Methods other than `declared`: the standard ones, lowercase spellings (fetch normalizes some,
 * not PATCH), WebDAV and friends, and any token fetch will build a Request with. */
export function methodsAround(declared: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    w(14, fc.constantFrom(...declared)),
    w(6, fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")),
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
}

/** JSON spellings the gateway accepts, near misses it must not, other types, and noise. */
export const contentType = fc.oneof(
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
      "application/json; charset=utf-16",
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

export const SANE_REQUEST_ID = /^[\w=-]{1,128}$/;
export const saneRequestId = fc.stringMatching(/^[\w=-]{1,64}$/);
export const requestId = fc.oneof(
  fc.stringMatching(/^[\w=-]{1,128}$/),
  fc.integer({ min: 129, max: 400 }).map((n) => "r".repeat(n)),
  headerValue(),
  fc.constantFrom("", "<script>alert(1)</script>", "a b", "../../etc", "id\t1"),
);

export const extraHeader = fc.oneof(
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
      "X-Forwarded-Host",
      "X-HTTP-Method-Override",
      "Content-Encoding",
      "Expect",
      "Host",
      "Transfer-Encoding",
      "Authorization",
      "Content-Type",
      "X-Request-ID",
    ),
    headerValue(),
  ),
);

/** How Content-Length is set on a request with a body: absent, true, or a lie. */
export type ContentLength = "absent" | "honest" | "half" | "over" | { raw: string };
export const contentLength: fc.Arbitrary<ContentLength> = fc.oneof(
  w(6, fc.constant("absent" as const)),
  w(6, fc.constant("honest" as const)),
  w(1, fc.constantFrom("half" as const, "over" as const)),
  w(
    1,
    fc.constantFrom("abc", "-1", "", "1e6", "0x10", "99999999999999999999").map((raw) => ({ raw })),
  ),
);

/** Query values: digits of every size (a Postgres integer and past it), signs, decimals,
 * exponents, hex, blanks, other scripts' digits, words, and hostile text raw or encoded. */
export const queryValue = fc.oneof(
  w(3, fc.integer({ min: 0, max: 200 }).map(String)),
  w(
    2,
    fc.constantFrom(
      "2147483647",
      "2147483648",
      "4294967296",
      "9007199254740993",
      "99999999999999999999",
      "00000000001",
      "0050",
      "-1",
      "-0",
      "+1",
      "1.5",
      "1.0",
      "1e3",
      "1e999",
      "0x10",
      "%201",
      "1%20",
      "+",
      "",
      "%D9%A1",
      "%EF%BC%91",
      "NaN",
      "Infinity",
      "null",
      "true",
      "[]",
      "%ZZ",
      "%",
      "%E0%A4%A",
      "%00",
    ),
  ),
  w(1, fc.stringMatching(/^[0-9]{1,30}$/)),
  w(1, fc.bigInt({ min: 0n, max: 1n << 70n }).map(String)),
  w(1, hostileString.map(percentEncode)),
  w(1, hostileString.map((s) => s.replaceAll("#", ""))),
);

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** Cursors (`?cursor=`, percent-encoded): any query value; the base64url of any JSON or bytes;
 * our own shape, `[1, list, parent, created_at, id]`, with each member hostile or another list's
 * (which may make a well-formed cursor: the answer is then a page); and lengths around the
 * limit. */
export const cursorValue = fc.oneof(
  w(2, queryValue),
  w(2, hostileJson.map((j) => base64url(utf8.encode(JSON.stringify(j))))),
  w(1, fc.uint8Array({ maxLength: 200 }).map(base64url)),
  w(
    4,
    fc.tuple(
      fc.oneof(fc.constant(1), hostileJson),
      fc.oneof(
        fc.constantFrom("company_contacts", "webhooks", "webhook_deliveries", "api_keys"),
        hostileJson,
      ),
      fc.oneof(fc.constant(null), fc.uuid(), hostileJson),
      fc.oneof(
        // noInvalidDate: fast-check 4 otherwise makes Invalid Date too, which toISOString throws on.
        fc.date({ min: new Date("0001-01-01"), max: new Date("9999-12-31"), noInvalidDate: true })
          .map((d) => d.toISOString().replace("Z", "000Z")),
        fc.constantFrom(
          "2030-02-30T00:00:00.000000Z",
          "2030-01-01T24:00:00.000000Z",
          "0000-01-01T00:00:00.000000Z",
          "infinity",
          "-infinity",
          "2030-01-01T00:00:00.000000+99:00",
        ),
        hostileJson,
      ),
      fc.oneof(fc.uuid(), fc.constant("00000000-0000-0000-0000-000000000000"), hostileJson),
    ).map((members) => base64url(utf8.encode(JSON.stringify(members)))),
  ),
  w(1, fc.integer({ min: 250, max: 20_000 }).map((n) => "A".repeat(n))),
).map(percentEncode);
