// The request's canonical JSON (kit/idempotency.ts), which the Idempotency-Key fingerprint is an
// HMAC of: equal JSON values give equal text whatever the key order, and the text is the value's.
// JSON.stringify's own text is used when every object's keys are already in order, so that fast
// path must give exactly what sorting gives.
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson } from "../../supabase/functions/api-gateway/kit/idempotency.ts";

/** Every object's keys sorted, written out: the definition canonicalJson must meet. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const at = value as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(at[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The same value with every object's keys in another order. */
function shuffled(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffled(v, seed + i));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    const order = entries.map((e, i) =>
      [((i + 1) * (seed | 1) * 2654435761) % 4294967296, e] as const
    )
      .sort(([a], [b]) => a - b).map(([, e]) => [e[0], shuffled(e[1], seed + 1)]);
    return Object.fromEntries(order);
  }
  return value;
}

// Keys that JSON.stringify writes in another order than they were made (integer-like ones come
// first, in numeric order), that share prefixes, or that sort by code unit, not by locale.
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("0", "1", "2", "10", "9", "01", "a", "B", "_", "é", "Z", "aa", "a0", "\u{1F600}"),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.string({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

Deno.test("canonicalJson: sorted keys, whatever order they came in", () => {
  fc.assert(
    fc.property(json, fc.integer(), (value, seed) => {
      const text = canonicalJson(value);
      assert.equal(text, sortedJson(value));
      assert.equal(canonicalJson(shuffled(value, seed)), text);
      assert.deepEqual(JSON.parse(text), value);
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("canonicalJson: the request as the kit builds it", () => {
  const ids = ["8e03978e-40d5-43e8-bc93-6894a57f9324", "0c7b1f2e-7c1a-4a55-9d1c-1f3d2b4e5a6f"];
  assert.equal(
    canonicalJson(["post", "/v1/companies/{id}/contacts/link", { id: "c1" }, {}, {
      contact_ids: ids,
    }]),
    `["post","/v1/companies/{id}/contacts/link",{"id":"c1"},{},{"contact_ids":${
      JSON.stringify(ids)
    }}]`,
  );
  // Another order of the same fields: the same text (the sorting path).
  assert.equal(
    canonicalJson({ url: "https://x", events: ["a"], description: undefined, active: true }),
    '{"active":true,"events":["a"],"url":"https://x"}',
  );
  assert.equal(canonicalJson(undefined), "null");
  assert.equal(canonicalJson([undefined]), "[null]");
});
