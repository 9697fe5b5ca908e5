// The deployed dispatcher's door: POST /api-gateway/internal/dispatch-webhooks, for pg_cron to
// call with the dispatch secret. Without a configured secret it does not exist; with one, only
// that secret opens it, and a call delivers what is due.
import assert from "node:assert/strict";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { LOCAL_POLICY, loopbackFetch, subscribedOrg } from "../harness/dispatching.ts";
import { send } from "../harness/http.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const PATH = "/api-gateway/internal/dispatch-webhooks";
const SECRET = "dispatch-secret-0123456789-abcdefghijklmnop";

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `webhooks: the dispatch route [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const guard = loopbackFetch();
      const s = await subscribedOrg(target.db, target.owner);
      try {
        await s.link(0, [1, 2]);

        await t.step("no dispatch secret configured: the route does not exist", async () => {
          const { app, calls } = buildApp(target.db, {
            webhooks: { urlPolicy: LOCAL_POLICY, fetch: guard.fetch },
          });
          const res = await send(app, "POST", PATH, { key: SECRET });
          assert.equal(res.status, 404);
          assert.equal(res.json.error.code, "not_found");
          assert.equal(calls.length, 0);
        });

        const { app, calls, logs } = buildApp(target.db, {
          webhooks: { urlPolicy: LOCAL_POLICY, fetch: guard.fetch, dispatchSecret: SECRET },
        });

        await t.step("without the secret, or with another: 401, nothing dispatched", async () => {
          for (const key of [null, "wrong", SECRET.slice(0, -1), `${SECRET}x`]) {
            const res = await send(app, "POST", PATH, { key });
            assert.equal(res.status, 401, `key ${key}`);
            assert.equal(res.json.error.code, "invalid_key");
          }
          const basic = await send(app, "POST", PATH, {
            headers: { authorization: `Basic ${btoa(`x:${SECRET}`)}` },
          });
          assert.equal(basic.status, 401);
          assert.equal(calls.length, 0, "no database call");
          assert.equal(s.receiver.received.length, 0);
        });

        await t.step("with the secret: what is due is delivered, and reported", async () => {
          const res = await send(app, "POST", PATH, { key: SECRET });
          assert.equal(res.status, 200, res.text);
          assert.equal(res.json.data.claimed, 1);
          assert.equal(res.json.data.succeeded, 1);
          assert.equal(res.json.data.failed, 0);
          assert.equal(s.receiver.received.length, 1);
          assert.deepEqual(s.receiver.received[0].verifiedBy, s.secrets);
          const again = await send(app, "POST", PATH, { key: SECRET });
          assert.equal(again.json.data.claimed, 0, "nothing twice");
          assert.equal(again.headers.get("cache-control"), "no-store");
          assertNoSecrets([...logs, res.text], [SECRET, ...s.secrets]);
          assert.deepEqual(guard.refused, []);
        });
      } finally {
        await s.close();
        await target.close();
      }
    },
  );
}
