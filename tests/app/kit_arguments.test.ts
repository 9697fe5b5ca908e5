// The kit sets p_key_hash (and p_now, under a test clock) itself, and the Idempotency-Key form's
// arguments: a route whose SQL arguments name one could act as another key, move the clock or
// collide with the form, so such a route is refused, a 500 with no database call, whatever its
// request.
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../supabase/functions/api-gateway/context.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";
import { errorResponse } from "../../supabase/functions/api-gateway/errors.ts";
import { KIT_ARGUMENTS } from "../../supabase/functions/api-gateway/kit/authorize.ts";
import { createRefusals } from "../../supabase/functions/api-gateway/kit/refusals.ts";
import {
  defineEndpoint,
  registerEndpoint,
} from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { generateApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import type { Zod } from "../../supabase/functions/api-gateway/kit/zod.ts";

for (const name of KIT_ARGUMENTS) {
  Deno.test(`kit: a route whose SQL arguments name ${name} is refused before any call`, async () => {
    const calls: string[] = [];
    const logged: unknown[] = [];
    const endpoint = defineEndpoint({
      method: "post",
      path: "/v1/things",
      operationId: "things",
      summary: "",
      description: "",
      tags: [],
      permission: "contacts:write",
      request: (z: Zod) => ({ body: z.object({ id: z.string() }) }),
      sql: { fn: "things", args: ({ body }) => ({ p_id: body.id, [name]: "forged" }) },
      response: { description: "", from: () => ({}) },
    });
    const db: GatewayDb = {
      call: <T>(fn: string) => (calls.push(fn), Promise.resolve({ outcome: "ok" } as T)),
    };
    const app = new Hono<AppEnv>();
    app.use("*", async (c, next) => {
      c.set("deps", { db, log: (entry) => logged.push(entry), refusals: createRefusals() });
      await next();
    });
    registerEndpoint(app, endpoint);
    app.onError((err, c) => errorResponse(c, err));
    const res = await app.request("/v1/things", {
      method: "POST",
      headers: { authorization: `Bearer ${generateApiKey()}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "x" }),
    });
    assert.equal(res.status, 500);
    assert.equal((await res.json()).error.code, "internal_error");
    assert.deepEqual(calls, [], "no database call");
  });
}
