// Contract test of the supabase adapter: PostgREST cannot run here, so a fake one records the
// exact HTTP exchange the adapter makes (supabase-js's own PostgREST client, @supabase/postgrest-js,
// built as supabase-js builds it for a service key) and answers the way PostgREST does, errors
// included.
import { keyChecksum } from "../../supabase/functions/api-gateway/kit/key.ts";
import assert from "node:assert/strict";
import { readConfig } from "../../supabase/functions/api-gateway/config.ts";
import {
  createSupabaseDb,
  UpstreamError,
  withTimeout,
} from "../../supabase/functions/api-gateway/db/supabase.ts";
import { ApiError } from "../../supabase/functions/api-gateway/errors.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { type Permission, PERMISSIONS } from "../../supabase/functions/api-gateway/permissions.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import type { Tenant } from "../harness/fixtures.ts";
import { routePath, send, sendRoute } from "../harness/http.ts";
import { loadRouteTests, successStatus } from "../harness/route_tests.ts";
import { json, pgError, type Recorded, startFakePostgrest } from "../harness/fake_postgrest.ts";

// A legacy service-role key is a JWT; new-format secret keys start with sb_secret_.
const JWT_KEY = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl";
const SECRET_KEY = "sb_secret_contractTestSecretKey0123456789";
// wbk_, 46 letters and digits, and their checksum: a key the gateway could have minted.
const API_KEY = `wbk_${"Ab3".repeat(15)}z${keyChecksum(`wbk_${"Ab3".repeat(15)}z`)}`;

const ORG = "0a000000-0000-4000-8000-000000000001";
const COMPANY = "0c000000-0000-4000-8000-000000000001";
const C1 = "0d000000-0000-4000-8000-000000000001";
const C2 = "0d000000-0000-4000-8000-000000000002";
const C3 = "0d000000-0000-4000-8000-000000000003";

/** Text PostgREST might put in message/details/hint: it must never surface anywhere. */
const LEAKY_TEXTS = [
  "secret-ish",
  "invalid input syntax",
  "Could not find the function",
  "Perhaps you meant",
  "internal row detail",
  "pool timeout detail",
  "bad gateway html",
];

// ---- the fake PostgREST ----

/** Headers Deno's fetch adds by itself; everything else was chosen by the adapter. */
const TRANSPORT_HEADERS = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "content-length",
  "host",
  "user-agent",
]);

/** What an endpoint function answers for a valid key (see api_authorize). */
const RATE_LIMIT = {
  minute: { limit: 50, remaining: 41, reset: 1_795_779_120, reset_in: 17 },
  day: { limit: 1000, remaining: 977, reset: 1_795_824_000, reset_in: 44_897 },
};
const authorized = (extra: Record<string, unknown> = {}) => ({
  outcome: "ok",
  org_id: ORG,
  key_prefix: API_KEY.slice(0, 12),
  rate_limit: RATE_LIMIT,
  ...extra,
});

/** A port nothing listens on: bind, note the port, close. */
function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The exchange supabase-js makes for `client.rpc(fn, args)`, as the adapter makes it. */
function assertRpcRequest(req: Recorded | undefined, fn: string, key: string, body: unknown) {
  assert.ok(req, `no request recorded for ${fn}`);
  assert.equal(req.method, "POST");
  assert.equal(req.path, `/rest/v1/rpc/${fn}`);
  assert.equal(req.query, "");
  assert.equal(req.headers["apikey"], key);
  assert.equal(req.headers["authorization"], `Bearer ${key}`);
  assert.equal(req.headers["content-type"], "application/json");
  assert.equal(req.headers["content-profile"], "public");
  assert.equal(req.headers["x-client-info"], "postgrest-js");
  // Exactly these, beyond what the fetch implementation adds: no Prefer (so PostgREST returns
  // the function's result), no session token, no tracing headers.
  assert.deepEqual(
    Object.keys(req.headers).filter((h) => !TRANSPORT_HEADERS.has(h)).sort(),
    ["apikey", "authorization", "content-profile", "content-type", "x-client-info"],
  );
  assert.deepEqual(req.body, body);
  assert.equal(req.text, JSON.stringify(body), "the body is exactly this JSON");
}

/** Runs `fn`, which must throw; returns the error. */
async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected an error");
}

function assertServiceUnavailable(err: unknown) {
  assert.ok(err instanceof ApiError, `expected ApiError 503, got ${(err as Error)?.name}`);
  assert.equal(err.status, 503);
  assert.equal(err.code, "service_unavailable");
  assert.equal(err.headers["Retry-After"], "5");
}

/** Everything an error could show when printed, logged or serialised. */
function errorTexts(err: unknown): string[] {
  const e = err as Error;
  return [String(e), e.message, e.stack ?? "", JSON.stringify(e), Deno.inspect(e, { depth: 5 })];
}

// ---- config ----

Deno.test("readConfig", async (t) => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const URL_ = "https://abcdefghijklmnop.supabase.co";

  await t.step("prefers SUPABASE_SECRET_KEYS.default over SUPABASE_SERVICE_ROLE_KEY", () => {
    const config = readConfig(env({
      SUPABASE_URL: URL_,
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY, other: "sb_secret_other" }),
      SUPABASE_SERVICE_ROLE_KEY: JWT_KEY,
    }));
    assert.deepEqual(config, { supabaseUrl: URL_, serviceKey: SECRET_KEY });
  });

  await t.step("falls back to SUPABASE_SERVICE_ROLE_KEY", () => {
    assert.deepEqual(
      readConfig(env({ SUPABASE_URL: URL_, SUPABASE_SERVICE_ROLE_KEY: JWT_KEY })),
      { supabaseUrl: URL_, serviceKey: JWT_KEY },
    );
    // A secret-keys object without a `default` entry also falls back.
    assert.deepEqual(
      readConfig(env({
        SUPABASE_URL: URL_,
        SUPABASE_SECRET_KEYS: JSON.stringify({ other: SECRET_KEY }),
        SUPABASE_SERVICE_ROLE_KEY: JWT_KEY,
      })),
      { supabaseUrl: URL_, serviceKey: JWT_KEY },
    );
  });

  await t.step("missing SUPABASE_URL: the error names it", () => {
    assert.throws(
      () => readConfig(env({ SUPABASE_SERVICE_ROLE_KEY: JWT_KEY })),
      (err: Error) => {
        assert.match(err.message, /SUPABASE_URL/);
        assertNoSecrets(errorTexts(err), [JWT_KEY]);
        return true;
      },
    );
    assert.throws(() => readConfig(env({ SUPABASE_URL: "not a url" })), /SUPABASE_URL/);
  });

  await t.step("missing key: the error names both variables", () => {
    const cases: Record<string, string>[] = [
      {},
      { SUPABASE_SECRET_KEYS: "{}" },
      { SUPABASE_SERVICE_ROLE_KEY: " " },
    ];
    for (const vars of cases) {
      assert.throws(
        () => readConfig(env({ SUPABASE_URL: URL_, ...vars })),
        (err: Error) => {
          assert.match(err.message, /SUPABASE_SECRET_KEYS/);
          assert.match(err.message, /SUPABASE_SERVICE_ROLE_KEY/);
          return true;
        },
      );
    }
  });

  await t.step("SUPABASE_SECRET_KEYS that is not JSON: named, value not quoted", () => {
    for (const bad of [SECRET_KEY, `{"default": "${SECRET_KEY}"`, JSON.stringify([SECRET_KEY])]) {
      const err = (() => {
        try {
          readConfig(env({
            SUPABASE_URL: URL_,
            SUPABASE_SECRET_KEYS: bad,
            SUPABASE_SERVICE_ROLE_KEY: JWT_KEY,
          }));
        } catch (err) {
          return err as Error;
        }
        assert.fail("expected an error");
      })();
      assert.match(err.message, /SUPABASE_SECRET_KEYS/);
      assert.equal(err.cause, undefined);
      assertNoSecrets(errorTexts(err), [SECRET_KEY, JWT_KEY, "contractTestSecretKey"]);
    }
  });
});

// ---- the adapter against the fake PostgREST ----

/** PostgREST-shaped failures: [what, reply, expected], where expected is 503 or the code and
 * status UpstreamError must carry. */
const ERROR_CASES: [string, () => Response, 503 | { code: string | null; status: number }][] = [
  [
    "400 22P02 (bad uuid): UpstreamError",
    () => pgError(400, "22P02", 'invalid input syntax for type uuid: "secret-ish"', "secret-ish"),
    { code: "22P02", status: 400 },
  ],
  [
    "404 PGRST202 (function not found): UpstreamError",
    () =>
      json(404, {
        code: "PGRST202",
        message: "Could not find the function public.link_contacts_to_company(p_key_hash) in " +
          "the schema cache",
        details: "Searched for the function public.link_contacts_to_company with parameter " +
          "p_key_hash or with a single unnamed json/jsonb parameter, but no matches were found",
        hint: "Perhaps you meant to call the function public.secret-ish",
      }),
    { code: "PGRST202", status: 404 },
  ],
  [
    "401 PGRST301 (wrong service key): UpstreamError, not an outage",
    () => pgError(401, "PGRST301", "No suitable key or wrong key type secret-ish"),
    { code: "PGRST301", status: 401 },
  ],
  [
    "500 XX000: UpstreamError",
    () => pgError(500, "XX000", "internal row detail secret-ish", "internal row detail"),
    { code: "XX000", status: 500 },
  ],
  [
    "500 without a JSON body: UpstreamError without code",
    () => new Response("internal row detail secret-ish", { status: 500 }),
    { code: null, status: 500 },
  ],
  [
    "500 with a code that is not a code: not carried",
    () => pgError(500, "secret-ish code", "internal row detail"),
    { code: null, status: 500 },
  ],
  [
    "503 PGRST001 (pool): 503",
    () => pgError(503, "PGRST001", "Database client error. secret-ish", "pool timeout detail"),
    503,
  ],
  ["503 PGRST000 (unreachable): 503", () => pgError(503, "PGRST000", "secret-ish"), 503],
  ["504 PGRST003 (pool timeout): 503", () => pgError(504, "PGRST003", "secret-ish"), 503],
  // Statuses alone, with no outage code behind them: a proxy or load balancer in front of
  // PostgREST answers these, and each must be an outage by its status.
  ["503 without a body (a proxy): 503", () => new Response(null, { status: 503 }), 503],
  [
    "503 with an unrelated code: 503",
    () => pgError(503, "PGRST116", "secret-ish"),
    503,
  ],
  ["504 without a body: 503", () => new Response(null, { status: 504 }), 503],
  [
    "502 with an HTML body: 503",
    () =>
      new Response("<html><body>bad gateway html secret-ish</body></html>", {
        status: 502,
        headers: { "content-type": "text/html" },
      }),
    503,
  ],
  // Outage codes behind a status that says nothing of an outage.
  ["500 57014 (statement timeout): 503", () => pgError(500, "57014", "secret-ish"), 503],
  ["400 08006 (connection failure): 503", () => pgError(400, "08006", "secret-ish"), 503],
  ["500 57P01 (admin shutdown): 503", () => pgError(500, "57P01", "secret-ish"), 503],
  ["500 53300 (too many connections): 503", () => pgError(500, "53300", "secret-ish"), 503],
  ["500 55P03 (lock timeout): 503", () => pgError(500, "55P03", "secret-ish"), 503],
];

Deno.test("supabase adapter: the exchange with PostgREST", async (t) => {
  const fake = startFakePostgrest();
  const db = createSupabaseDb({ url: fake.url, serviceKey: JWT_KEY });
  const hash = await sha256Hex(API_KEY);
  const args = { p_key_hash: hash, p_company_id: COMPANY, p_contact_ids: [C1, C2, C3] };
  try {
    await t.step("call: one POST rpc/<fn>, the named arguments as the body", async () => {
      fake.reset();
      const answer = authorized({ data: { updated: 2, failed: 1, failed_ids: [C3] } });
      fake.replies.link_contacts_to_company = () => json(200, answer);
      assert.deepEqual(await db.call("link_contacts_to_company", args), answer);
      assert.equal(fake.requests.length, 1);
      assertRpcRequest(fake.requests[0], "link_contacts_to_company", JWT_KEY, args);
    });

    await t.step("any function, any arguments: nothing per endpoint in the adapter", async () => {
      fake.reset();
      fake.replies.api_authorize = () => json(200, { outcome: "invalid_key" });
      const now = "2030-01-01T00:00:00.000Z";
      const authArgs = { p_key_hash: hash, p_permission: "contacts:read", p_now: now };
      assert.deepEqual(await db.call("api_authorize", authArgs), { outcome: "invalid_key" });
      assertRpcRequest(fake.requests[0], "api_authorize", JWT_KEY, authArgs);
    });

    await t.step("a new-format secret key is sent the same way", async () => {
      fake.reset();
      fake.replies.api_authorize = () => json(200, { outcome: "invalid_key" });
      const other = createSupabaseDb({ url: fake.url, serviceKey: SECRET_KEY });
      await other.call("api_authorize", { p_key_hash: hash, p_permission: "contacts:write" });
      assertRpcRequest(fake.requests[0], "api_authorize", SECRET_KEY, {
        p_key_hash: hash,
        p_permission: "contacts:write",
      });
    });

    await t.step(
      "names that are not plain identifiers are refused before any request",
      async () => {
        fake.reset();
        for (
          const [fn, a] of [
            ["link_contacts_to_company?select=*", {}],
            ["../rpc/x", {}],
            ["Link", {}],
            ["api_authorize", { "p_key_hash;drop": 1 }],
          ] as const
        ) {
          assert.ok((await thrown(() => db.call(fn, a))) instanceof TypeError, fn);
        }
        assert.equal(fake.requests.length, 0);
      },
    );

    for (const [what, reply, expected] of ERROR_CASES) {
      await t.step(what, async () => {
        for (const fn of ["link_contacts_to_company", "api_authorize"]) {
          fake.reset();
          fake.replies[fn] = reply;
          const err = await thrown(() => db.call(fn, args));
          if (expected === 503) {
            assertServiceUnavailable(err);
          } else {
            assert.ok(err instanceof UpstreamError, `expected UpstreamError, got ${err}`);
            assert.equal(err.name, "UpstreamError");
            assert.equal(err.code, expected.code);
            assert.equal(err.status, expected.status);
            assert.equal(err.cause, undefined);
          }
          assert.equal(fake.requests.length, 1, "one request, no retries");
          assertNoSecrets(errorTexts(err), [...LEAKY_TEXTS, JWT_KEY, API_KEY]);
        }
      });
    }

    await t.step("network failure (nothing listening): 503, at once", async () => {
      const down = createSupabaseDb({ url: closedPortUrl(), serviceKey: JWT_KEY });
      const started = performance.now();
      const err = await thrown(() => down.call("api_authorize", { p_key_hash: hash }));
      assertServiceUnavailable(err);
      assertNoSecrets(errorTexts(err), [JWT_KEY, API_KEY, "127.0.0.1"]);
      assert.ok(performance.now() - started < 2000, "no retries with back-off");
    });

    await t.step("timeout: a PostgREST that never answers is 503 after timeoutMs", async () => {
      fake.reset();
      fake.replies.link_contacts_to_company = fake.hang();
      const slow = createSupabaseDb({ url: fake.url, serviceKey: JWT_KEY, timeoutMs: 300 });
      const started = performance.now();
      const err = await thrown(() => slow.call("link_contacts_to_company", args));
      const elapsed = performance.now() - started;
      assertServiceUnavailable(err);
      assert.ok(elapsed >= 250, `aborted too early (${elapsed} ms)`);
      assert.ok(elapsed < 1500, `aborted too late (${elapsed} ms)`);
      assert.equal(fake.requests.length, 1);
    });

    await t.step("the injected fetch is the one used, under the timeout", async () => {
      fake.reset();
      fake.replies.api_authorize = () => json(200, { outcome: "invalid_key" });
      const signals: (AbortSignal | null | undefined)[] = [];
      const spy: typeof fetch = (input, init) => {
        signals.push(init?.signal);
        return fetch(input, init);
      };
      const spied = createSupabaseDb({ url: fake.url, serviceKey: JWT_KEY, fetch: spy });
      await spied.call("api_authorize", { p_key_hash: hash });
      assert.equal(signals.length, 1);
      assert.ok(signals[0] instanceof AbortSignal && !signals[0].aborted);
    });
  } finally {
    await fake.close();
  }
});

Deno.test("supabase adapter: withTimeout bounds every request and keeps the caller's signal", async (t) => {
  /** A fetch that settles only when its signal aborts. */
  const never: typeof fetch = (_input, init) =>
    new Promise((_resolve, reject) => {
      const signal = init?.signal;
      assert.ok(signal, "a signal is always passed");
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });

  await t.step("the timeout aborts with a TimeoutError", async () => {
    const err = await thrown(() => withTimeout(never, 50)("http://127.0.0.1/"));
    assert.equal((err as DOMException).name, "TimeoutError");
  });

  await t.step("the caller's abort still aborts, before the timeout", async () => {
    const caller = new AbortController();
    const pending = withTimeout(never, 2000)("http://127.0.0.1/", { signal: caller.signal });
    const started = performance.now();
    caller.abort();
    const err = await thrown(() => pending);
    assert.equal((err as DOMException).name, "AbortError");
    assert.ok(performance.now() - started < 500);
  });
});

// ---- the same through the HTTP app ----

/** A tenant's shape with fixed ids, for building each route's valid request without a database. */
const FAKE_TENANT: Tenant = {
  orgId: ORG,
  companyIds: [COMPANY, "0c000000-0000-4000-8000-000000000002"],
  contactIds: [C1, C2, C3],
  webhookIds: ["0e000000-0000-4000-8000-000000000001", "0e000000-0000-4000-8000-000000000002"],
  deliveryIds: ["0d100000-0000-4000-8000-000000000001"],
  keyIds: { [API_KEY]: "0c000000-0000-4000-8000-000000000001" },
  keys: {
    only: Object.fromEntries(PERMISSIONS.map((p) => [p, API_KEY])) as Record<Permission, string>,
    without: Object.fromEntries(PERMISSIONS.map((p) => [p, API_KEY])) as Record<Permission, string>,
    all: API_KEY,
    revoked: API_KEY,
    expired: API_KEY,
    write: API_KEY,
    read: API_KEY,
  },
};

Deno.test("supabase adapter: through the HTTP app", async (t) => {
  const fake = startFakePostgrest();
  const hash = await sha256Hex(API_KEY);
  const appOn = (url: string, timeoutMs?: number) =>
    buildApp(createSupabaseDb({ url, serviceKey: JWT_KEY, timeoutMs }));
  const { app, logs } = appOn(fake.url);
  const secrets = [...LEAKY_TEXTS, JWT_KEY, API_KEY];
  const link = ENDPOINTS.find((e) => e.sql.fn === "link_contacts_to_company")!;
  const linkUrl = routePath(link, { id: COMPANY });
  const body = { contact_ids: [C1, C2, C3, C1] };
  const post = (a = app, b: unknown = body) => send(a, "POST", linkUrl, { key: API_KEY, body: b });

  /** No request carried the plaintext API key, in any part. */
  const assertKeyNeverSent = () => {
    for (const req of fake.requests) {
      assertNoSecrets([req.path, req.query, req.text, JSON.stringify(req.headers)], [API_KEY]);
    }
  };

  try {
    for (const route of await loadRouteTests()) {
      const { endpoint } = route;
      await t.step(
        `${endpoint.method.toUpperCase()} ${endpoint.path}: one POST rpc/${endpoint.sql.fn}`,
        async () => {
          fake.reset();
          fake.replies[endpoint.sql.fn] = () => json(200, authorized({ data: route.sqlData }));
          const res = await sendRoute(app, endpoint, route.valid(FAKE_TENANT), { key: API_KEY });
          assert.equal(res.status, successStatus(endpoint), res.text);
          assert.equal(res.headers.get("x-ratelimit-remaining"), "977");
          assert.equal(res.headers.get("ratelimit"), '"minute";r=41;t=17');
          assert.equal(fake.requests.length, 1, "exactly one request to PostgREST");
          const sent = fake.requests[0];
          assert.equal(sent.path, `/rest/v1/rpc/${endpoint.sql.fn}`);
          assert.equal((sent.body as { p_key_hash: string }).p_key_hash, hash);
          assert.ok(!("p_now" in (sent.body as object)), "production sends no clock");
          assertKeyNeverSent();
        },
      );
    }

    await t.step("200: the body PostgREST gets, exactly", async () => {
      fake.reset();
      fake.replies.link_contacts_to_company = () =>
        json(200, authorized({ data: { updated: 2, failed: 1, failed_ids: [C3] } }));
      const res = await post();
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { data: { updated: 2, failed: 1, failed_ids: [C3] } });
      assertRpcRequest(fake.requests[0], "link_contacts_to_company", JWT_KEY, {
        p_company_id: COMPANY,
        p_contact_ids: body.contact_ids,
        p_key_hash: hash,
      });
      assertNoSecrets([res.text, ...logs], [JWT_KEY, API_KEY]);
    });

    await t.step("with Idempotency-Key: one POST rpc/<fn>_idempotent, exactly", async () => {
      const value = "8e03978e-40d5-43e8-bc93-6894a57f9324";
      fake.reset();
      fake.replies.link_contacts_to_company_idempotent = () =>
        json(200, authorized({ data: { updated: 2, failed: 1, failed_ids: [C3] } }));
      const first = await send(app, "POST", linkUrl, {
        key: API_KEY,
        body,
        headers: { "idempotency-key": value },
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get("idempotent-replayed"), null);
      // The endpoint function's own arguments, as without the header, and the header's.
      assertRpcRequest(fake.requests[0], "link_contacts_to_company_idempotent", JWT_KEY, {
        p_company_id: COMPANY,
        p_contact_ids: body.contact_ids,
        p_permission: "contacts:write",
        // The value, from which the database derives the record's keys in this call, and the
        // request as canonical JSON (sorted keys, no whitespace), which it fingerprints.
        p_idempotency_key: value,
        p_request: `["post","/v1/companies/{id}/contacts/link",{"id":"${COMPANY}"},{},` +
          `{"contact_ids":${JSON.stringify(body.contact_ids)}}]`,
        p_method: "post",
        p_path: "/v1/companies/{id}/contacts/link",
        p_key_hash: hash,
      });
      assertNoSecrets([fake.requests[0].text], [API_KEY]);

      // Its answers: a replay (marked), and the two refusals of the key.
      const answers: [Record<string, unknown>, number, string | null][] = [
        [{ data: { updated: 2, failed: 1, failed_ids: [C3] }, replayed: true }, 200, "true"],
        [{ outcome: "idempotency_key_reused" }, 422, null],
        [{ outcome: "idempotency_key_in_progress" }, 409, null],
      ];
      for (const [extra, status, replayed] of answers) {
        fake.reset();
        fake.replies.link_contacts_to_company_idempotent = () => json(200, authorized(extra));
        const res = await send(app, "POST", linkUrl, {
          key: API_KEY,
          body,
          headers: { "idempotency-key": value },
        });
        assert.equal(res.status, status, res.text);
        assert.equal(res.headers.get("idempotent-replayed"), replayed);
        assert.equal(res.headers.get("x-ratelimit-remaining"), "977");
        if (status === 200) assert.equal(res.text, first.text, "the same bytes");
        if (status === 409) assert.equal(res.headers.get("retry-after"), "1");
        assert.equal(fake.requests.length, 1);
      }
    });

    await t.step("an invalid body: one POST rpc/api_authorize, then 400", async () => {
      fake.reset();
      fake.replies.api_authorize = () => json(200, authorized());
      const res = await post(app, { contact_ids: [] });
      assert.equal(res.status, 400);
      assert.equal(res.json.error.code, "validation_error");
      assert.equal(res.headers.get("x-ratelimit-remaining"), "977");
      assert.equal(fake.requests.length, 1);
      assertRpcRequest(fake.requests[0], "api_authorize", JWT_KEY, {
        p_permission: "contacts:write",
        p_key_hash: hash,
      });
    });

    const outcomes: [string, unknown, number, string][] = [
      ["invalid_key", { outcome: "invalid_key" }, 401, "invalid_key"],
      [
        "insufficient_permissions",
        authorized({ outcome: "insufficient_permissions" }),
        403,
        "insufficient_permissions",
      ],
      [
        "rate_limited",
        authorized({
          outcome: "rate_limited",
          rate_limit: { ...RATE_LIMIT, day: { ...RATE_LIMIT.day, remaining: 0 }, window: "day" },
        }),
        429,
        "rate_limited",
      ],
      ["company_not_found", authorized({ outcome: "company_not_found" }), 404, "company_not_found"],
      ["an outcome the route does not declare", authorized({ outcome: "not_found" }), 500, ""],
      ["an unknown outcome", authorized({ outcome: "surprise" }), 500, ""],
      ["null", null, 500, ""],
      ["an array", [authorized()], 500, ""],
      ["no outcome", { data: {} }, 500, ""],
    ];
    for (const [what, answer, status, code] of outcomes) {
      await t.step(`the function answers ${what}: ${status}`, async () => {
        fake.reset();
        logs.length = 0;
        fake.replies.link_contacts_to_company = () => json(200, answer);
        const res = await post();
        assert.equal(res.status, status, res.text);
        assert.equal(res.json.error.code, code || "internal_error");
        assert.equal(fake.requests.length, 1);
        if (status === 429) {
          assert.equal(res.headers.get("retry-after"), "44897");
          assert.equal(res.headers.get("ratelimit"), '"day";r=0;t=44897');
          assert.match(res.json.error.message, /daily quota of 1000/);
        }
        if (status === 401) assert.equal(res.headers.get("x-ratelimit-limit"), null);
        if (status === 500) {
          const line = JSON.parse(logs.at(-1)!);
          assert.equal(line.level, "error");
          assert.equal(line.error.name, "UnexpectedResult");
        }
      });
    }

    await t.step("PostgREST down: 503 service_unavailable with Retry-After", async () => {
      const down = appOn(closedPortUrl());
      const res = await post(down.app);
      assert.equal(res.status, 503);
      assert.equal(res.json.error.code, "service_unavailable");
      assert.equal(res.headers.get("retry-after"), "5");
      assertNoSecrets([res.text, ...down.logs], [...secrets, "127.0.0.1", "fetch failed"]);
    });

    await t.step("503 PGRST001: 503 service_unavailable", async () => {
      fake.reset();
      logs.length = 0;
      fake.replies.link_contacts_to_company = () =>
        pgError(503, "PGRST001", "Database client error. secret-ish", "pool timeout detail");
      const res = await post();
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      assertNoSecrets([res.text, ...logs], secrets);
    });

    await t.step(
      "500 from PostgREST: 500 internal_error, one log line with the cause",
      async () => {
        fake.reset();
        logs.length = 0;
        fake.replies.link_contacts_to_company = () =>
          pgError(500, "XX000", "internal row detail secret-ish", "internal row detail");
        const res = await post();
        assert.equal(res.status, 500);
        assert.equal(res.json.error.code, "internal_error");
        assert.equal(logs.length, 1, "one line for the request, the error in it");
        const line = JSON.parse(logs[0]);
        assert.equal(line.error.name, "UpstreamError");
        assert.equal(line.error.code, "XX000");
        assert.equal(line.request_id, res.headers.get("x-request-id"));
        assertNoSecrets([res.text, ...logs], secrets);
      },
    );

    await t.step("PostgREST too slow: 503 quickly", async () => {
      fake.reset();
      fake.replies.link_contacts_to_company = fake.hang();
      const slow = appOn(fake.url, 300);
      const started = performance.now();
      const res = await post(slow.app);
      assert.ok(performance.now() - started < 1500);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      assertNoSecrets([res.text, ...slow.logs], secrets);
    });
  } finally {
    await fake.close();
  }
});
