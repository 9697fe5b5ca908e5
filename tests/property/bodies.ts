/**
 * Hostile bodies built around a route's valid body: regrown and mutated, `__proto__` keys,
 * fragments, non-UTF-8 bytes, deep nesting, huge arrays, oversized. What a body is made of comes
 * from the valid body itself (its keys, strings and arrays) and the tenants' ids.
 */
import fc from "fast-check";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import type { Tenant } from "../harness/fixtures.ts";
import {
  badBytes,
  hostileJson,
  hostileString,
  hostileUnit,
  jsonFragments,
  nearMisses,
  pollutingValues,
  protoKeys,
  utf16,
  w,
} from "./hostile.ts";
import type { BodyModel } from "./model.ts";
import type { BodySpec, HugeItem } from "./wire.ts";

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

  // Thousands of unknown fields beside the valid ones (up to about the body limit, and past it),
  // with short or long names: the answer must not grow with them.
  const manyFields = fc.record({
    n: fc.integer({ min: 50, max: 7_000 }),
    name: fc.constantFrom((i: number) => i.toString(36), (i: number) => `${"n".repeat(200)}${i}`),
  }).map(({ n, name }) => {
    const fields = Array.from({ length: n }, (_, i) => `${JSON.stringify(name(i))}:0`);
    return `${reopened(model.text)}${fields.join(",")}}`;
  });

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
    w(1, manyFields.map(text)),
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

/** Every hostile body built around `model`, its strings drawn from the tenants' ids. */
export const bodiesFor = (model: BodyModel, a: Tenant, b: Tenant) =>
  bodies(model, stringPool(stringsIn(model.value), a, b));
