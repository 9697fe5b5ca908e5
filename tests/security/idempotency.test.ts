// Idempotency-Key, the shared suite: every write route (tests/routes/*.ts declares how to call
// it) is safe to retry under the header, on every target. A replay is the first answer again,
// byte for byte, with Idempotent-Replayed: true and nothing done twice; another request under the
// key is 422; another org's use of the value is its own; the gateway's refusals come first and are
// not stored; the key is free again after 24 hours; the stored answers cannot be read back from
// the database. On Postgres also: 20 concurrent requests make one effect, a request that rolled
// back leaves no record, and one still running answers 409.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from "node:crypto";
import type postgres from "postgres";
import { pgClient } from "../../local/postgres.ts";
import type { Query } from "../../local/sql_db.ts";
import {
  IDEMPOTENT_METHODS,
  idempotentForm,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from "../../supabase/functions/api-gateway/kit/idempotency.ts";
import { generateApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { assertNoSecrets, buildApp, manualClock } from "../harness/app.ts";
import {
  companyOf,
  createTenant,
  databaseDigest,
  type Tenant,
  tokensTaken,
} from "../harness/fixtures.ts";
import { type Answer, routePath, type RouteRequest, send, sendRoute } from "../harness/http.ts";
import { loadRouteTests, type RouteTest, successStatus } from "../harness/route_tests.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const ROUTES = (await loadRouteTests()).filter((r) => IDEMPOTENT_METHODS.has(r.endpoint.method));
const byFn = (fn: string) => ROUTES.find((r) => r.endpoint.sql.fn === fn)!;
const LINK = byFn("link_contacts_to_company");
const CREATE_WEBHOOK = byFn("create_webhook");
const HOUR = 3_600_000;
const RATE_HEADERS = [
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "ratelimit-policy",
  "ratelimit",
];

const label = (route: RouteTest) => `${route.endpoint.method.toUpperCase()} ${route.endpoint.path}`;
const withKey = (key: string) => ({ "idempotency-key": key });

async function count(owner: Query, sql: string, orgId: string): Promise<number> {
  const [row] = await owner<{ n: number }>(sql, [orgId]);
  return row.n;
}
const eventsOf = (owner: Query, orgId: string) =>
  count(owner, "select count(*)::int as n from public.webhook_events where org_id = $1", orgId);
const endpointsOf = (owner: Query, orgId: string) =>
  count(
    owner,
    "select count(*)::int as n from public.webhook_endpoints where org_id = $1 and deleted_at is null",
    orgId,
  );
const recordsOf = (owner: Query, orgId: string) =>
  count(
    owner,
    "select count(*)::int as n from public.idempotency_records where org_id = $1",
    orgId,
  );

/** The org's records as a dump shows them: every column as text, the answer's bytes as hex, as
 * UTF-8 (what is printable of it) and as base64. */
async function dumpOf(owner: Query, orgId: string): Promise<string[]> {
  const rows = await owner<{ row: string; utf8: string; b64: string }>(
    `select r::text as row, encode(r.answer, 'escape') as utf8, encode(r.answer, 'base64') as b64
     from public.idempotency_records r where r.org_id = $1`,
    [orgId],
  );
  return rows.flatMap((r) => [r.row, r.utf8, r.b64.replaceAll("\n", "")]);
}

/** Every string of at least 12 characters in an answer (ids, URLs, a secret): none may be
 * readable in the stored record. */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string" && value.length >= 12) out.push(value);
  else if (value && typeof value === "object") {
    for (const v of Object.values(value)) stringsOf(v, out);
  }
  return out;
}

/** Another request to the same route: another path (its parameters made other UUIDs) or, without
 * parameters, the route's declared variant. */
function anotherRequest(route: RouteTest, self: Tenant): RouteRequest {
  const req = route.valid(self);
  const names = Object.keys(req.params);
  if (names.length > 0) {
    return { ...req, params: Object.fromEntries(names.map((n) => [n, crypto.randomUUID()])) };
  }
  if (!route.variant) {
    throw new Error(`${label(route)} has no path parameters: its RouteTest needs variant()`);
  }
  return route.variant(self);
}

/** The same JSON value, written otherwise: keys reversed, whitespace added. */
function rewritten(body: unknown): string {
  const reorder = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(reorder)
      : v && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)]))
      : v;
  return ` ${JSON.stringify(reorder(body), null, 3)}\n`;
}

function assertSameAnswer(replay: Answer, first: Answer, what: string) {
  assert.equal(replay.status, first.status, `${what}: status`);
  assert.equal(replay.text, first.text, `${what}: the same bytes`);
  assert.equal(replay.headers.get("idempotent-replayed"), "true", `${what}: marked replayed`);
  for (const name of RATE_HEADERS) assert.ok(replay.headers.has(name), `${what}: ${name}`);
}

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `idempotency: every write route [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { owner } = target;
      const clock = manualClock(new Date());
      const { app, calls } = buildApp(target.db, { clock: clock.now });
      const other = await createTenant(owner);

      for (const route of ROUTES) {
        const { endpoint } = route;
        const success = successStatus(endpoint);
        await t.step(
          `${label(route)}: a retry is the first answer, nothing done twice`,
          async () => {
            const self = await createTenant(owner);
            const key = self.keys.only[endpoint.permission];
            const value = crypto.randomUUID();
            const req = route.valid(self);

            calls.length = 0;
            const first = await sendRoute(app, endpoint, req, { key, headers: withKey(value) });
            assert.equal(first.status, success, first.text);
            route.ok(first.json, self);
            assert.equal(first.headers.get("idempotent-replayed"), null, "a first answer");
            assert.deepEqual(calls.map((c) => c.fn), [idempotentForm(endpoint.sql.fn)], "one call");
            assert.equal(await recordsOf(owner, self.orgId), 1, "its answer is stored");

            const digest = await databaseDigest(owner);
            const events = await eventsOf(owner, self.orgId);
            const tokens = await tokensTaken(owner, self.orgId);
            calls.length = 0;
            const replay = await sendRoute(app, endpoint, req, { key, headers: withKey(value) });
            assertSameAnswer(replay, first, "the retry");
            assert.deepEqual(calls.map((c) => c.fn), [idempotentForm(endpoint.sql.fn)], "one call");
            assert.equal(await databaseDigest(owner), digest, "no row written or changed");
            assert.equal(await eventsOf(owner, self.orgId), events, "no second event");
            assert.equal(
              await tokensTaken(owner, self.orgId),
              tokens + 1,
              "a replay takes a token",
            );

            // The same JSON written otherwise, the key in the draft's quoted form: the same request.
            const quoted = await send(app, endpoint.method, routePath(endpoint, req.params), {
              key,
              headers: { "idempotency-key": `"${value}"`, "content-type": "application/json" },
              body: req.body === undefined ? undefined : rewritten(req.body),
            });
            assertSameAnswer(quoted, first, "the retry, rewritten");

            // Another request under the key: 422, nothing done.
            const reused = await sendRoute(app, endpoint, anotherRequest(route, self), {
              key,
              headers: withKey(value),
            });
            assert.equal(reused.status, 422, reused.text);
            assert.equal(reused.json.error.code, "idempotency_key_reused");
            assert.equal(reused.headers.get("idempotent-replayed"), null);
            for (const name of RATE_HEADERS) assert.ok(reused.headers.has(name), name);
            assert.equal(await databaseDigest(owner), digest, "nothing done");

            // Another org, the same value: its own request, done.
            const theirs = await sendRoute(app, endpoint, route.valid(other), {
              key: other.keys.only[endpoint.permission],
              headers: withKey(value),
            });
            assert.equal(theirs.status, success, theirs.text);
            assert.equal(theirs.headers.get("idempotent-replayed"), null, "not the first org's");

            // What the database keeps cannot be read back without the key's value.
            const secrets = stringsOf(first.json).filter((s) => s !== self.orgId);
            assertNoSecrets(await dumpOf(owner, self.orgId), [...secrets, value]);
          },
        );
      }

      await t.step(
        "the signing secret of POST /v1/webhooks is not in the stored answer",
        async () => {
          const self = await createTenant(owner);
          const res = await sendRoute(app, CREATE_WEBHOOK.endpoint, CREATE_WEBHOOK.valid(self), {
            key: self.keys.only["webhooks:write"],
            headers: withKey(crypto.randomUUID()),
          });
          assert.equal(res.status, 201, res.text);
          const secret: string = res.json.data.webhook.secret;
          const dump = await dumpOf(owner, self.orgId);
          assert.equal(dump.length, 3, "one record");
          assertNoSecrets(dump, [secret, secret.slice("whsec_".length, 30)]);
        },
      );

      const self = await createTenant(owner, { contacts: 6 });
      const link = (ids: string[], opts: { key?: string; value?: string } = {}) =>
        sendRoute(app, LINK.endpoint, {
          params: { id: self.companyIds[0] },
          body: { contact_ids: ids },
        }, {
          key: opts.key ?? self.keys.write,
          headers: opts.value === undefined ? {} : withKey(opts.value),
        });

      const linkRequest = (ids: string[]) =>
        `["post","/v1/companies/{id}/contacts/link",{"id":"${
          self.companyIds[0]
        }"},{},{"contact_ids":${JSON.stringify(ids)}}]`;
      const hmac = (key: Uint8Array, ...parts: Uint8Array[]) =>
        parts.reduce((h, part) => h.update(part), createHmac("sha256", key)).digest();
      const bytes = (text: string) => Buffer.from(text, "utf8");

      await t.step(
        "the record is sealed as documented: SHA-256 lookup, HKDF-SHA-512 keys, HMAC fingerprint, AES-CBC + HMAC",
        async () => {
          // An implementation of its own (node:crypto), so that the database's derivations are
          // checked against the docs' scheme, not against themselves.
          const value = `sealed-${crypto.randomUUID()}`;
          const ids = [self.contactIds[5], self.contactIds[4]];
          const res = await link(ids, { value });
          assert.equal(res.status, 200, res.text);
          const [row] = await owner<{ key_hash: string; fingerprint: string; answer: string }>(
            `select encode(key_hash, 'hex') as key_hash, encode(fingerprint, 'hex') as fingerprint,
                    encode(answer, 'hex') as answer
             from public.idempotency_records where org_id = $1 and key_hash = $2`,
            [self.orgId, createHash("sha256").update(value).digest()],
          );
          assert.ok(row, "found by SHA-256 of the value");
          const okm = Buffer.from(
            hkdfSync(
              "sha512",
              value,
              "api-gateway/idempotency-key/v2",
              "answer-aes256,answer-hmac-sha256",
              64,
            ),
          );
          const macKey = okm.subarray(32, 64);
          assert.equal(
            row.fingerprint,
            hmac(macKey, Buffer.from([1]), bytes(linkRequest(ids))).toString("hex"),
            "the fingerprint: HMAC-SHA-256 of 0x01 || the canonical request under the MAC key",
          );
          const answer = Buffer.from(row.answer, "hex");
          const sealed = answer.subarray(0, answer.length - 32);
          assert.equal(
            answer.subarray(answer.length - 32).toString("hex"),
            hmac(macKey, Buffer.from([2]), sealed).toString("hex"),
            "the tag: HMAC-SHA-256 of 0x02 || iv || ciphertext under the MAC key",
          );
          const decipher = createDecipheriv(
            "aes-256-cbc",
            okm.subarray(0, 32),
            sealed.subarray(0, 16),
          );
          const stored = JSON.parse(
            Buffer.concat([decipher.update(sealed.subarray(16)), decipher.final()]).toString(),
          );
          assert.deepEqual(stored, {
            outcome: "ok",
            data: { updated: 2, failed: 0, failed_ids: [] },
          });
        },
      );

      await t.step(
        "a record sealed by v1 (HKDF-SHA-256, before 20261206007000) still replays; another request under it is 422",
        async () => {
          // Sealed here as v1 did it, with an answer no link of these contacts would give, so that
          // a 200 carrying it can only be the replay.
          const value = `v1-${crypto.randomUUID()}`;
          const ids = [self.contactIds[3]];
          const okm = Buffer.from(
            hkdfSync(
              "sha256",
              value,
              "api-gateway/idempotency-key/v1",
              "answer-aes256,answer-hmac-sha256,fingerprint-hmac-sha256",
              96,
            ),
          );
          const iv = crypto.getRandomValues(new Uint8Array(16));
          const cipher = createCipheriv("aes-256-cbc", okm.subarray(0, 32), iv);
          const data = { updated: 41, failed: 0, failed_ids: [] };
          const sealed = Buffer.concat([
            iv,
            cipher.update(JSON.stringify({ data, outcome: "ok" })),
            cipher.final(),
          ]);
          await owner(
            `insert into public.idempotency_records
               (org_id, key_hash, fingerprint, method, path, answer, created_at, expires_at)
             values ($1, $2::bytea, $3::bytea, 'post', '/v1/companies/{id}/contacts/link', $4::bytea,
                     $5, $6)`,
            [
              self.orgId,
              createHash("sha256").update(value).digest(),
              hmac(okm.subarray(64), bytes(linkRequest(ids))),
              Buffer.concat([sealed, hmac(okm.subarray(32, 64), sealed)]),
              clock.now(),
              new Date(clock.now().getTime() + 24 * HOUR),
            ],
          );
          const digest = await databaseDigest(owner);
          const res = await link(ids, { value });
          assert.equal(res.status, 200, res.text);
          assert.equal(res.headers.get("idempotent-replayed"), "true");
          assert.deepEqual(res.json, { data });
          const other = await link([self.contactIds[2]], { value });
          assert.equal(other.status, 422, other.text);
          assert.equal(other.json.error.code, "idempotency_key_reused");
          assert.equal(await databaseDigest(owner), digest, "nothing done");
        },
      );

      await t.step("the key is checked first: 401 and 403 before any replay or 422", async () => {
        const value = crypto.randomUUID();
        assert.equal((await link([self.contactIds[0]], { value })).status, 200);
        const digest = await databaseDigest(owner);
        for (
          const [key, status] of [
            [generateApiKey(), 401],
            [self.keys.revoked, 401],
            [self.keys.expired, 401],
            [self.keys.without["contacts:write"], 403],
          ] as const
        ) {
          for (const ids of [[self.contactIds[0]], [self.contactIds[1]]]) {
            const res = await link(ids, { key, value });
            assert.equal(res.status, status, res.text);
            assert.equal(res.headers.get("idempotent-replayed"), null);
          }
        }
        // And a malformed key value is refused after the key check too.
        const bad = await link([self.contactIds[0]], { key: generateApiKey(), value: "" });
        assert.equal(bad.status, 401, bad.text);
        assert.equal(await databaseDigest(owner), digest, "nothing done, nothing stored");
      });

      await t.step(
        "the gateway's refusals (403, 400) are not stored: fixed, the retry does the work",
        async () => {
          const value = crypto.randomUUID();
          const refused = await link([self.contactIds[2]], {
            key: self.keys.without["contacts:write"],
            value,
          });
          assert.equal(refused.status, 403, refused.text);
          const invalid = await sendRoute(app, LINK.endpoint, {
            params: { id: self.companyIds[0] },
            body: { contact_ids: ["not-a-uuid"] },
          }, { key: self.keys.write, headers: withKey(value) });
          assert.equal(invalid.status, 400, invalid.text);
          const before = await recordsOf(owner, self.orgId);
          const done = await link([self.contactIds[2]], { value });
          assert.equal(done.status, 200, done.text);
          assert.equal(done.headers.get("idempotent-replayed"), null, "done, not replayed");
          assert.equal(
            (await companyOf(owner, [self.contactIds[2]]))[self.contactIds[2]],
            self.companyIds[0],
          );
          assert.equal(await recordsOf(owner, self.orgId), before + 1);
        },
      );

      await t.step("the route's own refusal (404) is stored and replayed", async () => {
        const value = crypto.randomUUID();
        const missing = crypto.randomUUID();
        const send404 = () =>
          sendRoute(app, LINK.endpoint, {
            params: { id: missing },
            body: { contact_ids: [self.contactIds[0]] },
          }, {
            key: self.keys.write,
            headers: withKey(value),
          });
        const first = await send404();
        assert.equal(first.status, 404, first.text);
        assert.equal(first.json.error.code, "company_not_found");
        assertSameAnswer(await send404(), first, "the 404's retry");
      });

      await t.step(
        "Idempotency-Key values: the forms taken, and a 400 naming the header",
        async () => {
          const taken = [
            "a",
            "x".repeat(MAX_IDEMPOTENCY_KEY_LENGTH),
            "with spaces and ~!@#$%^&*()",
            '"quoted \\"escaped\\" \\\\ value"',
          ];
          for (const value of taken) {
            const res = await link([self.contactIds[3]], { value });
            assert.equal(res.status, 200, `${value}: ${res.text}`);
          }
          const refused = [
            "",
            "  ",
            "x".repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1),
            '""',
            '"unterminated',
            '"a"b"',
            '"bad \\escape"',
            "caf\u00e9",
          ];
          const digest = await databaseDigest(owner);
          for (const value of refused) {
            const res = await link([self.contactIds[3]], { value });
            assert.equal(res.status, 400, `${JSON.stringify(value)}: ${res.text}`);
            assert.equal(res.json.error.code, "validation_error");
            assert.deepEqual(
              res.json.error.details.map((d: { path: string; in: string }) => [d.path, d.in]),
              [[
                "Idempotency-Key",
                "header",
              ]],
            );
            assert.match(res.json.error.message, /Idempotency-Key/);
            for (const name of RATE_HEADERS) {
              assert.ok(res.headers.has(name), "after the key check");
            }
          }
          assert.equal(await databaseDigest(owner), digest, "nothing done, nothing stored");
          // A GET ignores it.
          const list = await send(
            app,
            "GET",
            routePath(LINK.endpoint, { id: self.companyIds[0] }).replace(/\/link$/, ""),
            {
              key: self.keys.read,
              headers: withKey(""),
            },
          );
          assert.equal(list.status, 200, list.text);
        },
      );

      await t.step(
        "after 24 hours the key is free again; the retention job purges it",
        async () => {
          const tenant = await createTenant(owner);
          const value = crypto.randomUUID();
          // One request (valid() gives each call a new URL), sent again.
          const request = CREATE_WEBHOOK.valid(tenant);
          const create = () =>
            sendRoute(app, CREATE_WEBHOOK.endpoint, request, {
              key: tenant.keys.only["webhooks:write"],
              headers: withKey(value),
            });
          const start = clock.now();
          const endpoints = await endpointsOf(owner, tenant.orgId);
          try {
            const first = await create();
            assert.equal(first.status, 201, first.text);
            clock.advance(24 * HOUR - 60_000);
            assertSameAnswer(await create(), first, "a minute before the 24 hours end");
            assert.equal(await endpointsOf(owner, tenant.orgId), endpoints + 1);
            clock.advance(60_000);
            // Done again, not replayed: the same URL is now taken by the endpoint the first made.
            const again = await create();
            assert.equal(again.status, 409, again.text);
            assert.equal(again.json.error.code, "webhook_url_taken");
            assert.equal(again.headers.get("idempotent-replayed"), null, "done again");
            assert.equal(await endpointsOf(owner, tenant.orgId), endpoints + 1);
            assert.equal(await recordsOf(owner, tenant.orgId), 1, "the record taken over");

            const at = new Date(clock.now().getTime() + 24 * HOUR);
            await owner("select public.purge_api_usage($1)", [at]);
            assert.equal(await recordsOf(owner, tenant.orgId), 0, "purged once expired");
          } finally {
            clock.set(start);
          }
        },
      );

      await t.step("CORS: browsers may send the header and read Idempotent-Replayed", async () => {
        const preflight = await app.request(routePath(LINK.endpoint, { id: self.companyIds[0] }), {
          method: "OPTIONS",
          headers: {
            origin: "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, idempotency-key",
          },
        });
        const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase();
        assert.ok(allowed.split(/,\s*/).includes("idempotency-key"), allowed);
        const res = await sendRoute(app, LINK.endpoint, {
          params: { id: self.companyIds[0] },
          body: { contact_ids: [self.contactIds[0]] },
        }, {
          key: self.keys.write,
          headers: { origin: "https://app.example", ...withKey(crypto.randomUUID()) },
        });
        const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase();
        assert.ok(exposed.split(/,\s*/).includes("idempotent-replayed"), exposed);
      });

      await t.step("20 concurrent requests, one key, one body: one effect", async () => {
        const tenant = await createTenant(owner);
        const endpoints = await endpointsOf(owner, tenant.orgId);
        const value = crypto.randomUUID();
        const request = CREATE_WEBHOOK.valid(tenant);
        const answers = await Promise.all(
          Array.from(
            { length: 20 },
            () =>
              sendRoute(app, CREATE_WEBHOOK.endpoint, request, {
                key: tenant.keys.only["webhooks:write"],
                headers: withKey(value),
              }),
          ),
        );
        assert.equal(await endpointsOf(owner, tenant.orgId), endpoints + 1, "one endpoint");
        const done = answers.filter((a) => a.status === 201);
        const firsts = done.filter((a) => a.headers.get("idempotent-replayed") === null);
        assert.equal(firsts.length, 1, "one did the work");
        for (const a of done) assert.equal(a.text, firsts[0].text, "the others are its answer");
        for (const a of answers.filter((a) => a.status !== 201)) {
          assert.equal(a.status, 409, a.text);
          assert.equal(a.json.error.code, "idempotency_key_in_progress");
          assert.equal(a.headers.get("retry-after"), "1");
        }
      });
    },
  );
}

/** Another session holding something until released. */
async function hold(url: string, take: (tx: postgres.TransactionSql) => Promise<unknown>) {
  const sql = pgClient(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let taken!: () => void;
  const isTaken = new Promise<void>((r) => (taken = r));
  const done = sql.begin(async (tx) => {
    await take(tx);
    taken();
    await released;
    // Undone: what it held was never committed.
    throw new Rollback();
  }).catch((err) => {
    if (!(err instanceof Rollback)) throw err;
  });
  await isTaken;
  return {
    async release() {
      release();
      await done;
      await sql.end();
    },
  };
}
class Rollback extends Error {}

Deno.test(
  { name: "idempotency: rolled back, still running [postgres]", ...targetTestOptions("postgres") },
  async (t) => {
    const target = await getTarget("postgres");
    const { owner } = target;
    const { app } = buildApp(target.db);
    const self = await createTenant(owner, { contacts: 4 });
    const link = (ids: string[], value: string) =>
      sendRoute(app, LINK.endpoint, {
        params: { id: self.companyIds[0] },
        body: { contact_ids: ids },
      }, {
        key: self.keys.write,
        headers: withKey(value),
      });

    await t.step(
      "a request that rolled back leaves no record; its retry does the work",
      async () => {
        const value = crypto.randomUUID();
        // The company held elsewhere: the link function's wait ends in lock_not_available, the
        // transaction rolls back, the gateway answers 503.
        const held = await hold(
          target.url!,
          (tx) => tx`select 1 from public.companies where id = ${self.companyIds[0]} for update`,
        );
        try {
          const res = await link([self.contactIds[0]], value);
          assert.equal(res.status, 503, res.text);
        } finally {
          await held.release();
        }
        assert.equal(await recordsOf(owner, self.orgId), 0, "no record");
        const retry = await link([self.contactIds[0]], value);
        assert.equal(retry.status, 200, retry.text);
        assert.equal(retry.headers.get("idempotent-replayed"), null, "done now");
        assert.equal(
          (await companyOf(owner, [self.contactIds[0]]))[self.contactIds[0]],
          self.companyIds[0],
        );
        assert.equal(await recordsOf(owner, self.orgId), 1);
      },
    );

    await t.step(
      "while the first request runs: 409 with Retry-After: 1, nothing done",
      async () => {
        const value = crypto.randomUUID();
        const hash = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("");
        // A first request under the key, still running: it holds the key's lock.
        const held = await hold(
          target.url!,
          (tx) =>
            tx`select pg_advisory_xact_lock(hashtextextended(${self.orgId}::uuid::text || ${hash}, 22))`,
        );
        const tokens = await tokensTaken(owner, self.orgId);
        try {
          const res = await link([self.contactIds[1]], value);
          assert.equal(res.status, 409, res.text);
          assert.equal(res.json.error.code, "idempotency_key_in_progress");
          assert.equal(res.headers.get("retry-after"), "1");
          for (const name of RATE_HEADERS) assert.ok(res.headers.has(name), name);
          assert.equal(await tokensTaken(owner, self.orgId), tokens + 1, "it counts");
          assert.equal((await companyOf(owner, [self.contactIds[1]]))[self.contactIds[1]], null);
        } finally {
          await held.release();
        }
        // That first request rolled back: the retry does the work.
        const retry = await link([self.contactIds[1]], value);
        assert.equal(retry.status, 200, retry.text);
        assert.equal(retry.headers.get("idempotent-replayed"), null);
      },
    );
  },
);
