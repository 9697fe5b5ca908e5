// kit/body_fields.ts reads a large body's top-level keys without JSON.parse, so that refusing
// thousands of unknown fields costs what a valid body of that size costs. Held to JSON.parse
// itself: for any JSON object, in any layout, it finds exactly the keys JSON.parse finds; for any
// other text it answers null or a count, never throws.
import assert from "node:assert/strict";
import fc from "fast-check";
import { unknownTopLevelFields } from "../../supabase/functions/api-gateway/kit/body_fields.ts";

const KNOWN = new Set(["contact_ids", "url", "events"]);

/** JSON.stringify's text with whitespace of every kind put between tokens. */
const spaced = (o: unknown, gap: string) =>
  JSON.stringify(o, null, gap).replaceAll("\n", `\n${gap}`).replace(/^/, gap) + gap;

Deno.test("body fields: the keys JSON.parse finds, and only those", () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.oneof(fc.constantFrom(...KNOWN), fc.string(), fc.string({ unit: "binary" })),
        fc.jsonValue(),
      ),
      fc.constantFrom("", " ", "\t", "\r\n  "),
      (object, gap) => {
        const text = gap ? spaced(object, gap) : JSON.stringify(object);
        const keys = Object.keys(JSON.parse(text));
        const unknown = keys.filter((k) => !KNOWN.has(k));
        const found = unknownTopLevelFields(text, KNOWN, 20);
        assert.ok(found, text);
        assert.equal(found.count, unknown.length);
        assert.deepEqual(found.first, unknown.slice(0, 20));
      },
    ),
    { numRuns: 2_000 },
  );
});

Deno.test("body fields: escapes, nesting and brackets inside strings", () => {
  const text = JSON.stringify({
    'a"b': "x}y",
    "c\\d": { "e": ["]", { "f": '"' }] },
    "\u00e9t\u00e9": [[[]]],
    contact_ids: ["{", "[", ","],
  });
  assert.deepEqual(unknownTopLevelFields(text, KNOWN, 20), {
    count: 3,
    first: ['a"b', "c\\d", "été"],
  });
});

Deno.test("body fields: anything else is null or a count, never a throw", () => {
  for (
    const text of [
      "",
      "[]",
      "1",
      '"x"',
      "{",
      '{"a"',
      '{"a":',
      '{"a":1',
      '{"a":1,}',
      "{} {}",
      "{a:1}",
    ]
  ) {
    assert.equal(unknownTopLevelFields(text, KNOWN, 20), null, text);
  }
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      const found = unknownTopLevelFields(`{${text}`, KNOWN, 20);
      assert.ok(found === null || found.count >= 0);
    }),
    { numRuns: 2_000 },
  );
});
