// The cursor codec alone (kit/cursor.ts), under any input: decoding never throws, accepts only
// what encoding writes, and gives back the position encoded.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeCursor,
  encodeCursor,
  MAX_CURSOR_LENGTH,
} from "../../supabase/functions/api-gateway/kit/cursor.ts";
import { cursorValue, hostileString } from "./hostile.ts";

const position = fc.record({
  list: fc.constantFrom("company_contacts", "webhooks", "webhook_deliveries", "api_keys"),
  parent: fc.option(fc.uuid().map((u) => u.toLowerCase()), { nil: null }),
  created_at: fc.date({
    min: new Date("0001-01-01"),
    max: new Date("9999-12-31T23:59:59Z"),
    noInvalidDate: true,
  })
    .chain((d) =>
      fc.integer({ min: 0, max: 999 }).map((us) =>
        d.toISOString().replace("Z", `${String(us).padStart(3, "0")}Z`)
      )
    ),
  id: fc.uuid().map((u) => u.toLowerCase()),
});

Deno.test("cursor: what is encoded decodes to itself, within the length limit", () => {
  fc.assert(fc.property(position, (p) => {
    const raw = encodeCursor(p.list, p.parent, { created_at: p.created_at, id: p.id });
    assert.ok(raw.length <= MAX_CURSOR_LENGTH);
    assert.match(raw, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(raw), {
      list: p.list,
      parent: p.parent,
      after: { created_at: p.created_at, id: p.id },
    });
  }));
});

Deno.test("cursor: anything else never throws, and what it accepts re-encodes the same", () => {
  const anything = fc.oneof(
    cursorValue.map((v) => {
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    }),
    hostileString,
    fc.string({ maxLength: 400 }),
  );
  fc.assert(
    fc.property(anything, (raw) => {
      const cursor = decodeCursor(raw);
      if (cursor === null) return;
      const again = encodeCursor(cursor.list, cursor.parent, cursor.after);
      assert.deepEqual(decodeCursor(again), cursor);
      assert.ok(!Number.isNaN(Date.parse(cursor.after.created_at.slice(0, 23) + "Z")));
    }),
    { numRuns: 2_000 },
  );
});
