// Contract test of the supabase adapter: PostgREST cannot run here, so a fake one records the
// exact HTTP exchange supabase-js makes and answers the way PostgREST does, errors included.
import assert from "node:assert/strict";
import { readConfig } from "../../supabase/functions/api-gateway/config.ts";
import {
  createSupabaseClient,
  createSupabaseDb,
  UpstreamError,
  withTimeout,
} from "../../supabase/functions/api-gateway/db/supabase.ts";
import { ApiError } from "../../supabase/functions/api-gateway/errors.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { linkPath, postLink } from "../harness/http.ts";

// A legacy service-role key is a JWT; new-format secret keys start with sb_secret_.
const JWT_KEY = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl";
const SECRET_KEY = "sb_secret_contractTestSecretKey0123456789";
const API_KEY = "wbk_" + "Ab3".repeat(17) + "z"; // wbk_ + 52 letters and digits

const ORG = "0a000000-0000-4000-8000-000000000001";
const KEY_ID = "0b000000-0000-4000-8000-000000000001";
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

type Recorded = {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  text: string;
  body: unknown;
};
type Reply = (req: Recorded) => Response | Promise<Response>;

/** Headers Deno's fetch adds by itself; everything else was chosen by supabase-js. */
const TRANSPORT_HEADERS = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "content-length",
  "host",
  "user-agent",
]);

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });

const pgError = (status: number, code: string, message: string, details: string | null = null) =>
  json(status, { code, message, details, hint: null });

const AUTH_ROW = {
  org_id: ORG,
  key_id: KEY_ID,
  permissions: ["contacts:write"],
  last_used_at: null,
};

function startFakePostgrest() {
  const requests: Recorded[] = [];
  /** Replies by RPC name; a missing one answers like PostgREST does for an unknown function. */
  const replies: Record<string, Reply> = {};
  const held: (() => void)[] = [];
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      onError: () => new Response("fake handler failed", { status: 500 }),
    },
    async (req) => {
      const url = new URL(req.url);
      const text = await req.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const recorded: Recorded = {
        method: req.method,
        path: url.pathname,
        query: url.search,
        headers: Object.fromEntries(req.headers),
        text,
        body,
      };
      requests.push(recorded);
      const fn = url.pathname.replace(/^\/rest\/v1\/rpc\//, "");
      const reply = replies[fn];
      if (!reply) {
        return pgError(404, "PGRST202", `Could not find the function public.${fn}`);
      }
      return await reply(recorded);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    replies,
    /** A reply that does not come before the server closes, or, should the client not give up
     * on its own, a success after 3 s: a missing timeout then fails the test instead of hanging. */
    hang: (): Reply => () =>
      new Promise<Response>((resolve) => {
        const timer = setTimeout(() => resolve(json(200, [])), 3000);
        held.push(() => {
          clearTimeout(timer);
          resolve(new Response(null));
        });
      }),
    reset() {
      requests.length = 0;
      for (const k of Object.keys(replies)) delete replies[k];
    },
    async close() {
      for (const release of held.splice(0)) release();
      await server.shutdown();
    },
  };
}
type FakePostgrest = ReturnType<typeof startFakePostgrest>;

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

/** The exchange supabase-js makes for `client.rpc(fn, args)`. */
function assertRpcRequest(req: Recorded | undefined, fn: string, key: string, body: unknown) {
  assert.ok(req, `no request recorded for ${fn}`);
  assert.equal(req.method, "POST");
  assert.equal(req.path, `/rest/v1/rpc/${fn}`);
  assert.equal(req.query, "");
  assert.equal(req.headers["apikey"], key);
  assert.equal(req.headers["authorization"], `Bearer ${key}`);
  assert.equal(req.headers["content-type"], "application/json");
  assert.equal(req.headers["content-profile"], "public");
  assert.match(req.headers["x-client-info"], /^supabase-js\/\d+\.\d+\.\d+/);
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

Deno.test("supabase adapter: the exchange with PostgREST", async (t) => {
  const fake = startFakePostgrest();
  const client = createSupabaseClient({ url: fake.url, serviceKey: JWT_KEY });
  const db = createSupabaseDb(client);
  const hash = await sha256Hex(API_KEY);
  try {
    await t.step("authenticate: POST rpc/authenticate_api_key, a row becomes the key", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () =>
        json(200, [{ ...AUTH_ROW, last_used_at: "2026-11-27T10:00:00.123456+00:00" }]);
      const key = await db.authenticate(hash);
      assert.deepEqual(key, {
        orgId: ORG,
        keyId: KEY_ID,
        permissions: ["contacts:write"],
        lastUsedAt: new Date("2026-11-27T10:00:00.123Z"),
      });
      assert.equal(fake.requests.length, 1);
      assertRpcRequest(fake.requests[0], "authenticate_api_key", JWT_KEY, { p_key_hash: hash });
    });

    await t.step("authenticate: an empty array is null", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () => json(200, []);
      assert.equal(await db.authenticate(hash), null);
    });

    await t.step("authenticate: null permissions become []", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () => json(200, [{ ...AUTH_ROW, permissions: null }]);
      assert.deepEqual((await db.authenticate(hash))?.permissions, []);
    });

    await t.step("a new-format secret key is sent the same way", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () => json(200, []);
      const other = createSupabaseDb(
        createSupabaseClient({ url: fake.url, serviceKey: SECRET_KEY }),
      );
      assert.equal(await other.authenticate(hash), null);
      assertRpcRequest(fake.requests[0], "authenticate_api_key", SECRET_KEY, { p_key_hash: hash });
    });

    await t.step("link: POST rpc/link_contacts_to_company, the jsonb object's counts", async () => {
      fake.reset();
      fake.replies.link_contacts_to_company = () =>
        json(200, { company_found: true, updated: 2, failed: 1, failed_ids: [C3] });
      const result = await db.linkContacts(ORG, COMPANY, [C1, C2, C3]);
      assert.deepEqual(result, { updated: 2, failed: 1, failedIds: [C3] });
      assert.equal(fake.requests.length, 1);
      assertRpcRequest(fake.requests[0], "link_contacts_to_company", JWT_KEY, {
        p_org_id: ORG,
        p_company_id: COMPANY,
        p_contact_ids: [C1, C2, C3],
      });
    });

    await t.step("link: company_found false is null", async () => {
      fake.reset();
      fake.replies.link_contacts_to_company = () => json(200, { company_found: false });
      assert.equal(await db.linkContacts(ORG, COMPANY, [C1]), null);
    });

    await t.step("link: a body that is not the object is an error, not 'not found'", async () => {
      fake.reset();
      fake.replies.link_contacts_to_company = () => json(200, null);
      const err = await thrown(() => db.linkContacts(ORG, COMPANY, [C1]));
      assert.ok(err instanceof UpstreamError);
    });

    await t.step("touch: POST rpc/touch_api_key, 204 No Content", async () => {
      fake.reset();
      fake.replies.touch_api_key = () => new Response(null, { status: 204 });
      assert.equal(await db.touchApiKey(KEY_ID), undefined);
      assert.equal(fake.requests.length, 1);
      assertRpcRequest(fake.requests[0], "touch_api_key", JWT_KEY, { p_key_id: KEY_ID });
    });

    // PostgREST-shaped failures: [what, reply, expected] where expected is 503 or the code and
    // status UpstreamError must carry.
    const errorCases: [string, () => Response, 503 | { code: string | null; status: number }][] = [
      [
        "400 22P02 (bad uuid): UpstreamError",
        () =>
          pgError(400, "22P02", 'invalid input syntax for type uuid: "secret-ish"', "secret-ish"),
        { code: "22P02", status: 400 },
      ],
      [
        "404 PGRST202 (function not found): UpstreamError",
        () =>
          json(404, {
            code: "PGRST202",
            message: "Could not find the function public.authenticate_api_key(p_key_hash) in " +
              "the schema cache",
            details: "Searched for the function public.authenticate_api_key with parameter " +
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
      [
        "503 PGRST000 (unreachable): 503",
        () => pgError(503, "PGRST000", "Database connection error secret-ish"),
        503,
      ],
      [
        "504 PGRST003 (pool timeout): 503",
        () => pgError(504, "PGRST003", "Timed out secret-ish"),
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
      [
        "500 57014 (statement timeout): 503",
        () => pgError(500, "57014", "canceling statement due to statement timeout secret-ish"),
        503,
      ],
      ["503 08006 (connection failure): 503", () => pgError(503, "08006", "secret-ish"), 503],
      ["500 57P01 (admin shutdown): 503", () => pgError(500, "57P01", "secret-ish"), 503],
      ["500 53300 (too many connections): 503", () => pgError(500, "53300", "secret-ish"), 503],
    ];
    for (const [what, reply, expected] of errorCases) {
      await t.step(what, async () => {
        for (
          const [fn, run] of [
            ["authenticate_api_key", () => db.authenticate(hash)],
            ["link_contacts_to_company", () => db.linkContacts(ORG, COMPANY, [C1])],
            ["touch_api_key", () => db.touchApiKey(KEY_ID)],
          ] as const
        ) {
          fake.reset();
          fake.replies[fn] = reply;
          const err = await thrown(run);
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
      const down = createSupabaseDb(
        createSupabaseClient({ url: closedPortUrl(), serviceKey: JWT_KEY }),
      );
      const started = performance.now();
      for (const run of [() => down.authenticate(hash), () => down.touchApiKey(KEY_ID)]) {
        const err = await thrown(run);
        assertServiceUnavailable(err);
        assertNoSecrets(errorTexts(err), [JWT_KEY, API_KEY, "127.0.0.1"]);
      }
      assert.ok(performance.now() - started < 2000, "no retries with back-off");
    });

    await t.step("timeout: a PostgREST that never answers is 503 after timeoutMs", async () => {
      fake.reset();
      fake.replies.link_contacts_to_company = fake.hang();
      const slow = createSupabaseDb(
        createSupabaseClient({ url: fake.url, serviceKey: JWT_KEY, timeoutMs: 300 }),
      );
      const started = performance.now();
      const err = await thrown(() => slow.linkContacts(ORG, COMPANY, [C1]));
      const elapsed = performance.now() - started;
      assertServiceUnavailable(err);
      assert.ok(elapsed >= 250, `aborted too early (${elapsed} ms)`);
      assert.ok(elapsed < 1500, `aborted too late (${elapsed} ms)`);
      assert.equal(fake.requests.length, 1);
    });

    await t.step("the injected fetch is the one used, under the timeout", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () => json(200, []);
      const signals: (AbortSignal | null | undefined)[] = [];
      const spy: typeof fetch = (input, init) => {
        signals.push(init?.signal);
        return fetch(input, init);
      };
      const spied = createSupabaseDb(
        createSupabaseClient({ url: fake.url, serviceKey: JWT_KEY, fetch: spy }),
      );
      assert.equal(await spied.authenticate(hash), null);
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

Deno.test("supabase adapter: through the HTTP app", async (t) => {
  const fake = startFakePostgrest();
  const hash = await sha256Hex(API_KEY);
  const appOn = (url: string) =>
    buildApp(createSupabaseDb(createSupabaseClient({ url, serviceKey: JWT_KEY })));
  const { app, logs, settle } = appOn(fake.url);
  const secrets = [...LEAKY_TEXTS, JWT_KEY, API_KEY];
  const body = { contact_ids: [C1, C2, C3, C1] };

  /** No request carried the plaintext API key, in any part. */
  const assertKeyNeverSent = () => {
    for (const req of fake.requests) {
      assertNoSecrets([req.path, req.query, req.text, JSON.stringify(req.headers)], [API_KEY]);
    }
  };

  try {
    await t.step("200: authenticate, link and touch, with the key's hash only", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () => json(200, [AUTH_ROW]);
      fake.replies.link_contacts_to_company = () =>
        json(200, { company_found: true, updated: 2, failed: 1, failed_ids: [C3] });
      fake.replies.touch_api_key = () => new Response(null, { status: 204 });

      const res = await postLink(app, COMPANY, body, { key: API_KEY });
      await settle();
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { data: { updated: 2, failed: 1, failed_ids: [C3] } });

      const byPath = (fn: string) => fake.requests.filter((r) => r.path === `/rest/v1/rpc/${fn}`);
      assert.equal(fake.requests.length, 3);
      const [auth] = byPath("authenticate_api_key");
      assertRpcRequest(auth, "authenticate_api_key", JWT_KEY, { p_key_hash: hash });
      assert.match((auth.body as { p_key_hash: string }).p_key_hash, /^[0-9a-f]{64}$/);
      assertRpcRequest(byPath("link_contacts_to_company")[0], "link_contacts_to_company", JWT_KEY, {
        p_org_id: ORG,
        p_company_id: COMPANY,
        p_contact_ids: body.contact_ids,
      });
      // last_used_at null: the use is recorded, after the response.
      assertRpcRequest(byPath("touch_api_key")[0], "touch_api_key", JWT_KEY, { p_key_id: KEY_ID });
      assertKeyNeverSent();
      assertNoSecrets([res.text, ...logs], [JWT_KEY, API_KEY]);
    });

    await t.step("a recent last_used_at: no touch", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () =>
        json(200, [{ ...AUTH_ROW, last_used_at: new Date().toISOString() }]);
      fake.replies.link_contacts_to_company = () =>
        json(200, { company_found: true, updated: 1, failed: 0, failed_ids: [] });
      const res = await postLink(app, COMPANY, { contact_ids: [C1] }, { key: API_KEY });
      await settle();
      assert.equal(res.status, 200);
      assert.deepEqual(fake.requests.map((r) => r.path).sort(), [
        "/rest/v1/rpc/authenticate_api_key",
        "/rest/v1/rpc/link_contacts_to_company",
      ]);
    });

    await t.step("unknown key (empty array): 401 invalid_key, no link", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () => json(200, []);
      const res = await postLink(app, COMPANY, body, { key: API_KEY });
      assert.equal(res.status, 401);
      assert.equal(res.json.error.code, "invalid_key");
      assert.equal(fake.requests.length, 1);
    });

    await t.step("company not found: 404 company_not_found", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = () =>
        json(200, [{ ...AUTH_ROW, last_used_at: new Date().toISOString() }]);
      fake.replies.link_contacts_to_company = () => json(200, { company_found: false });
      const res = await postLink(app, COMPANY, body, { key: API_KEY });
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, "company_not_found");
    });

    await t.step("a failed touch is logged by class only, the response is still 200", async () => {
      fake.reset();
      logs.length = 0;
      fake.replies.authenticate_api_key = () => json(200, [AUTH_ROW]);
      fake.replies.link_contacts_to_company = () =>
        json(200, { company_found: true, updated: 1, failed: 0, failed_ids: [] });
      fake.replies.touch_api_key = () => pgError(500, "XX000", "internal row detail secret-ish");
      const res = await postLink(app, COMPANY, { contact_ids: [C1] }, { key: API_KEY });
      await settle();
      assert.equal(res.status, 200);
      const warn = logs.map((l) => JSON.parse(l)).find((l) => l.level === "warn");
      assert.equal(warn?.error, "UpstreamError");
      assertNoSecrets([res.text, ...logs], secrets);
    });

    await t.step("PostgREST down: 503 service_unavailable with Retry-After", async () => {
      const down = appOn(closedPortUrl());
      const res = await postLink(down.app, COMPANY, body, { key: API_KEY });
      await down.settle();
      assert.equal(res.status, 503);
      assert.equal(res.json.error.code, "service_unavailable");
      assert.equal(res.headers.get("retry-after"), "5");
      assertNoSecrets([res.text, ...down.logs], [...secrets, "127.0.0.1", "fetch failed"]);
    });

    await t.step("link answered 503 PGRST001: 503 service_unavailable", async () => {
      fake.reset();
      logs.length = 0;
      fake.replies.authenticate_api_key = () =>
        json(200, [{ ...AUTH_ROW, last_used_at: new Date().toISOString() }]);
      fake.replies.link_contacts_to_company = () =>
        pgError(503, "PGRST001", "Database client error. secret-ish", "pool timeout detail");
      const res = await postLink(app, COMPANY, body, { key: API_KEY });
      assert.equal(res.status, 503);
      assert.equal(res.json.error.code, "service_unavailable");
      assert.equal(res.headers.get("retry-after"), "5");
      assertNoSecrets([res.text, ...logs], secrets);
    });

    await t.step("link answered 500: 500 internal_error, logged by class and code", async () => {
      fake.reset();
      logs.length = 0;
      fake.replies.authenticate_api_key = () =>
        json(200, [{ ...AUTH_ROW, last_used_at: new Date().toISOString() }]);
      fake.replies.link_contacts_to_company = () =>
        pgError(500, "XX000", "internal row detail secret-ish", "internal row detail");
      const res = await postLink(app, COMPANY, body, { key: API_KEY });
      assert.equal(res.status, 500);
      assert.equal(res.json.error.code, "internal_error");
      const logged = logs.map((l) => JSON.parse(l)).find((l) => l.level === "error");
      assert.equal(logged?.error, "UpstreamError");
      assert.equal(logged?.code, "XX000");
      assertNoSecrets([res.text, ...logs], secrets);
    });

    await t.step("authenticate answered 400 22P02: 500 internal_error, nothing leaks", async () => {
      fake.reset();
      logs.length = 0;
      fake.replies.authenticate_api_key = () =>
        pgError(400, "22P02", 'invalid input syntax for type uuid: "secret-ish"', "secret-ish");
      const res = await postLink(app, COMPANY, body, { key: API_KEY });
      assert.equal(res.status, 500);
      assert.equal(res.json.error.code, "internal_error");
      assertNoSecrets([res.text, ...logs], secrets);
    });

    await t.step("PostgREST too slow: 503 quickly", async () => {
      fake.reset();
      fake.replies.authenticate_api_key = fake.hang();
      const slow = buildApp(
        createSupabaseDb(
          createSupabaseClient({ url: fake.url, serviceKey: JWT_KEY, timeoutMs: 300 }),
        ),
      );
      const started = performance.now();
      const res = await slow.app.request(linkPath(COMPANY), {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      assert.ok(performance.now() - started < 1500);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      assertNoSecrets([text, ...slow.logs], secrets);
    });
  } finally {
    await settle();
    await fake.close();
  }
});
