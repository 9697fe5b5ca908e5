import assert from "node:assert/strict";
import { createApp } from "../../supabase/functions/api-gateway/app.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/lib/api_key.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { createTenant } from "../harness/fixtures.ts";
import { postLink } from "../harness/http.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";

/** The real adapter, with touchApiKey replaced and its calls counted. */
function withTouch(db: GatewayDb, touch: (keyId: string) => Promise<void>) {
  const calls: string[] = [];
  const wrapped: GatewayDb = {
    ...db,
    touchApiKey: (keyId) => {
      calls.push(keyId);
      return touch(keyId);
    },
  };
  return { db: wrapped, calls };
}

Deno.test(
  { name: "key usage: last_used_at bookkeeping", ...targetTestOptions("pglite") },
  async (t) => {
    const target = await getTarget("pglite");
    const lastUsed = async (key: string) =>
      (await target.owner<{ last_used_at: Date | null }>(
        "select last_used_at from public.api_keys where key_hash = $1",
        [await hashApiKey(key)],
      ))[0].last_used_at;

    await t.step("recorded on success, at most once a minute per key", async () => {
      const a = await createTenant(target.owner);
      const { db, calls } = withTouch(target.db, (id) => target.db.touchApiKey(id));
      const { app, settle } = buildApp(db);
      const body = { contact_ids: [a.contactIds[0]] };
      assert.equal(await lastUsed(a.keys.write), null);
      for (let i = 0; i < 5; i++) {
        assert.equal(
          (await postLink(app, a.companyIds[0], body, { key: a.keys.write })).status,
          200,
        );
        await settle();
      }
      assert.equal(calls.length, 1, "one write for five requests within a minute");
      const first = await lastUsed(a.keys.write);
      assert.ok(first);

      // A minute later it is recorded again.
      await target.owner(
        "update public.api_keys set last_used_at = now() - interval '61 seconds' where key_hash = $1",
        [await hashApiKey(a.keys.write)],
      );
      await postLink(app, a.companyIds[0], body, { key: a.keys.write });
      await settle();
      assert.equal(calls.length, 2);
      const second = await lastUsed(a.keys.write);
      assert.ok(second && second.getTime() > Date.now() - 60_000);
    });

    await t.step("not recorded when the request is rejected", async () => {
      const a = await createTenant(target.owner);
      const { db, calls } = withTouch(target.db, (id) => target.db.touchApiKey(id));
      const { app, settle } = buildApp(db);
      await postLink(app, a.companyIds[0], { contact_ids: [] }, { key: a.keys.write });
      await postLink(app, crypto.randomUUID(), { contact_ids: [a.contactIds[0]] }, {
        key: a.keys.write,
      });
      await postLink(app, a.companyIds[0], { contact_ids: [a.contactIds[0]] }, {
        key: a.keys.readOnly,
      });
      await settle();
      assert.equal(calls.length, 0);
      assert.equal(await lastUsed(a.keys.write), null);
    });

    await t.step(
      "a failing write never fails the request, and is logged without secrets",
      async () => {
        const a = await createTenant(target.owner);
        const { db, calls } = withTouch(
          target.db,
          () => Promise.reject(Object.assign(new Error(`boom ${a.keys.write}`), { code: "08006" })),
        );
        const { app, logs, settle } = buildApp(db);
        const res = await postLink(app, a.companyIds[0], { contact_ids: [a.contactIds[0]] }, {
          key: a.keys.write,
        });
        assert.equal(res.status, 200);
        await settle();
        assert.equal(calls.length, 1);
        assert.ok(logs.some((l) => JSON.parse(l).level === "warn"));
        assertNoSecrets([...logs, res.text], [a.keys.write, "boom"]);
      },
    );

    await t.step("a write that never finishes never delays the response", async () => {
      const a = await createTenant(target.owner);
      const { db, calls } = withTouch(target.db, () => new Promise<void>(() => {}));
      const { app } = buildApp(db);
      const res = await postLink(app, a.companyIds[0], { contact_ids: [a.contactIds[0]] }, {
        key: a.keys.write,
      });
      assert.equal(res.status, 200);
      assert.equal(calls.length, 1);
    });

    await t.step("handed to EdgeRuntime.waitUntil where the runtime has it", async () => {
      const a = await createTenant(target.owner);
      const handed: Promise<unknown>[] = [];
      const g = globalThis as { EdgeRuntime?: unknown };
      g.EdgeRuntime = { waitUntil: (p: Promise<unknown>) => handed.push(p) };
      try {
        const app = createApp({ db: target.db, log: () => {} });
        const res = await app.request(
          `/api-gateway/v1/companies/${a.companyIds[0]}/contacts/link`,
          {
            method: "POST",
            headers: {
              authorization: `Bearer ${a.keys.write}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({ contact_ids: [a.contactIds[0]] }),
          },
        );
        assert.equal(res.status, 200);
        await res.body?.cancel();
        assert.equal(handed.length, 1);
        await Promise.all(handed);
        assert.ok(await lastUsed(a.keys.write));
      } finally {
        delete g.EdgeRuntime;
      }
    });
  },
);
