import assert from "node:assert/strict";
import { hashApiKey } from "../../supabase/functions/api-gateway/lib/api_key.ts";
import { createSqlDb, postgresJsQuery } from "../../local/sql_db.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { companyOf, createTenant, databaseDigest } from "../harness/fixtures.ts";
import { linkPath, postLink } from "../harness/http.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const MISSING = "00000000-0000-4000-8000-00000000dead";
const SQL_WORDS =
  /\b(select|insert|update|delete|from|where|relation|column|syntax|postgres|sqlstate|pglite|stack)\b/i;

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `link contacts: HTTP contract [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { app, logs, settle } = buildApp(target.db);
      const a = await createTenant(target.owner, { companies: 2, contacts: 5 });
      const b = await createTenant(target.owner, { companies: 1, contacts: 2 });
      const [c1, c2] = a.companyIds;
      const bodies: string[] = [];
      const link = async (
        ...args: Parameters<typeof postLink> extends [unknown, ...infer R] ? R : never
      ) => {
        const res = await postLink(app, ...args);
        bodies.push(res.text);
        return res;
      };

      await t.step("links contacts and answers the counts", async () => {
        const res = await link(c1, { contact_ids: a.contactIds.slice(0, 2) }, {
          key: a.keys.write,
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/json");
        assert.deepEqual(res.json, { data: { updated: 2, failed: 0, failed_ids: [] } });
        assert.deepEqual(await companyOf(target.owner, a.contactIds.slice(0, 3)), {
          [a.contactIds[0]]: c1,
          [a.contactIds[1]]: c1,
          [a.contactIds[2]]: null,
        });
      });

      await t.step("re-linking is idempotent: already linked ids count as updated", async () => {
        const [before] = await target.owner<{ updated_at: Date }>(
          "select updated_at from public.contacts where id = $1",
          [a.contactIds[0]],
        );
        const res = await link(c1, { contact_ids: a.contactIds.slice(0, 2) }, {
          key: a.keys.write,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.data, { updated: 2, failed: 0, failed_ids: [] });
        const [after] = await target.owner<{ updated_at: Date }>(
          "select updated_at from public.contacts where id = $1",
          [a.contactIds[0]],
        );
        assert.deepEqual(after.updated_at, before.updated_at, "an unchanged row is not rewritten");
      });

      await t.step("a contact linked to another company of the org moves", async () => {
        const res = await link(c2, { contact_ids: [a.contactIds[0]] }, { key: a.keys.write });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.data, { updated: 1, failed: 0, failed_ids: [] });
        assert.equal((await companyOf(target.owner, [a.contactIds[0]]))[a.contactIds[0]], c2);
      });

      await t.step("updated_at is set on the rows it changes", async () => {
        await target.owner(
          "update public.contacts set updated_at = now() - interval '1 day' where id = $1",
          [a.contactIds[3]],
        );
        const res = await link(c1, { contact_ids: [a.contactIds[3]] }, { key: a.keys.write });
        assert.equal(res.status, 200);
        const [row] = await target.owner<{ fresh: boolean }>(
          "select updated_at > now() - interval '1 minute' as fresh from public.contacts where id = $1",
          [a.contactIds[3]],
        );
        assert.equal(row.fresh, true);
      });

      await t.step("mixed existing, missing and other-org ids; other org untouched", async () => {
        const before = await companyOf(target.owner, b.contactIds);
        const ids = [a.contactIds[4], MISSING, b.contactIds[0], a.contactIds[1]];
        const res = await link(c2, { contact_ids: ids }, { key: a.keys.write });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.data, {
          updated: 2,
          failed: 2,
          failed_ids: [MISSING, b.contactIds[0]],
        });
        assert.deepEqual(await companyOf(target.owner, b.contactIds), before);
        assert.equal((await companyOf(target.owner, [a.contactIds[4]]))[a.contactIds[4]], c2);
      });

      await t.step("duplicate ids count once", async () => {
        const id = a.contactIds[2];
        const res = await link(c1, { contact_ids: [id, id, id.toUpperCase(), MISSING, MISSING] }, {
          key: a.keys.write,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.data, { updated: 1, failed: 1, failed_ids: [MISSING] });
      });

      await t.step("exactly 100 ids are accepted", async () => {
        const t100 = await createTenant(target.owner, { companies: 1, contacts: 100 });
        const res = await link(t100.companyIds[0], { contact_ids: t100.contactIds }, {
          key: t100.keys.write,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.data, { updated: 100, failed: 0, failed_ids: [] });
        const linked = await companyOf(target.owner, t100.contactIds);
        assert.ok(Object.values(linked).every((c) => c === t100.companyIds[0]));
      });

      // Every failure: status, code, and not one byte written.
      const failures: {
        name: string;
        status: number;
        code: string;
        send: () => ReturnType<typeof link>;
        check?: (res: Awaited<ReturnType<typeof link>>) => void;
      }[] = [
        {
          name: "contact_ids missing",
          status: 400,
          code: "validation_error",
          send: () => link(c1, {}, { key: a.keys.write }),
          check: (r) => assert.equal(r.json.error.details[0].path, "contact_ids"),
        },
        {
          name: "contact_ids not an array",
          status: 400,
          code: "validation_error",
          send: () => link(c1, { contact_ids: a.contactIds[0] }, { key: a.keys.write }),
        },
        {
          name: "contact_ids empty",
          status: 400,
          code: "validation_error",
          send: () => link(c1, { contact_ids: [] }, { key: a.keys.write }),
        },
        {
          name: "more than 100 ids",
          status: 400,
          code: "validation_error",
          send: () =>
            link(c1, { contact_ids: Array.from({ length: 101 }, () => crypto.randomUUID()) }, {
              key: a.keys.write,
            }),
        },
        {
          name: "an element that is not a UUID string",
          status: 400,
          code: "validation_error",
          send: () =>
            link(c1, { contact_ids: [...a.contactIds.slice(0, 3), "not-a-uuid", 42] }, {
              key: a.keys.write,
            }),
          check: (r) => {
            const paths = r.json.error.details.map((d: { path: string }) => d.path);
            assert.deepEqual(paths, ["contact_ids.3", "contact_ids.4"]);
            assert.match(r.json.error.message, /contact_ids\.3/);
          },
        },
        {
          name: "unknown body field",
          status: 400,
          code: "validation_error",
          send: () =>
            link(c1, { contact_ids: [a.contactIds[0]], force: true }, { key: a.keys.write }),
          check: (r) => assert.equal(r.json.error.details[0].path, "force"),
        },
        {
          name: "malformed JSON",
          status: 400,
          code: "validation_error",
          send: () => link(c1, '{"contact_ids": [', { key: a.keys.write }),
        },
        {
          name: "JSON that is not an object",
          status: 400,
          code: "validation_error",
          send: () => link(c1, "[1,2]", { key: a.keys.write }),
        },
        {
          name: "non-UUID company id",
          status: 400,
          code: "validation_error",
          send: () => link("company-1", { contact_ids: [a.contactIds[0]] }, { key: a.keys.write }),
          check: (r) => assert.equal(r.json.error.details[0].path, "id"),
        },
        {
          name: "no Authorization header",
          status: 401,
          code: "invalid_key",
          send: () => link(c1, { contact_ids: [a.contactIds[0]] }, { key: null }),
        },
        {
          name: "another scheme",
          status: 401,
          code: "invalid_key",
          send: () =>
            link(c1, { contact_ids: [a.contactIds[0]] }, {
              headers: { authorization: `Basic ${btoa(`user:${a.keys.write}`)}` },
            }),
        },
        {
          name: "malformed key",
          status: 401,
          code: "invalid_key",
          send: () => link(c1, { contact_ids: [a.contactIds[0]] }, { key: "wbk_short" }),
        },
        {
          name: "unknown key",
          status: 401,
          code: "invalid_key",
          send: () =>
            link(c1, { contact_ids: [a.contactIds[0]] }, { key: `wbk_${"A".repeat(52)}` }),
        },
        {
          name: "revoked key",
          status: 401,
          code: "invalid_key",
          send: () => link(c1, { contact_ids: [a.contactIds[0]] }, { key: a.keys.revoked }),
        },
        {
          name: "expired key",
          status: 401,
          code: "invalid_key",
          send: () => link(c1, { contact_ids: [a.contactIds[0]] }, { key: a.keys.expired }),
        },
        {
          name: "key without contacts:write",
          status: 403,
          code: "insufficient_permissions",
          send: () => link(c1, { contact_ids: [a.contactIds[0]] }, { key: a.keys.readOnly }),
          check: (r) => assert.match(r.json.error.message, /contacts:write/),
        },
        {
          name: "unknown company",
          status: 404,
          code: "company_not_found",
          send: () => link(MISSING, { contact_ids: [a.contactIds[0]] }, { key: a.keys.write }),
        },
        {
          name: "another org's company, with that org's contacts",
          status: 404,
          code: "company_not_found",
          send: () => link(b.companyIds[0], { contact_ids: b.contactIds }, { key: a.keys.write }),
        },
        {
          name: "body over 64 KiB",
          status: 413,
          code: "payload_too_large",
          send: () =>
            link(c1, { contact_ids: [a.contactIds[0]], pad: "x".repeat(70_000) }, {
              key: a.keys.write,
            }),
        },
        {
          name: "body that is not application/json",
          status: 415,
          code: "unsupported_media_type",
          send: () =>
            link(c1, JSON.stringify({ contact_ids: [a.contactIds[0]] }), {
              key: a.keys.write,
              headers: { "content-type": "text/plain" },
            }),
        },
      ];

      for (const f of failures) {
        await t.step(`${f.status} ${f.code}: ${f.name}`, async () => {
          const before = await databaseDigest(target.owner);
          const res = await f.send();
          assert.equal(res.status, f.status, res.text);
          assert.equal(res.json?.error?.code, f.code, res.text);
          assert.equal(typeof res.json.error.message, "string");
          assert.ok(res.headers.get("x-request-id"));
          if (f.status === 401) {
            assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
          }
          f.check?.(res);
          await settle();
          assert.equal(await databaseDigest(target.owner), before, "nothing may be written");
        });
      }

      await t.step(
        "404 not_found for unknown routes, 405 with Allow for wrong methods",
        async () => {
          const before = await databaseDigest(target.owner);
          const unknown = await app.request("/api-gateway/v1/nothing-here", {
            headers: { authorization: `Bearer ${a.keys.write}` },
          });
          assert.equal(unknown.status, 404);
          assert.equal((await unknown.json()).error.code, "not_found");
          for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
            const res = await app.request(linkPath(c1), {
              method,
              headers: { authorization: `Bearer ${a.keys.write}` },
            });
            assert.equal(res.status, 405, method);
            assert.equal((await res.json()).error.code, "method_not_allowed");
            assert.match(res.headers.get("allow") ?? "", /\bPOST\b/);
          }
          // A trailing slash is another path: unknown, not a method mismatch.
          const slash = await app.request(`${linkPath(c1)}/`, {
            method: "POST",
            headers: { authorization: `Bearer ${a.keys.write}` },
          });
          assert.equal(slash.status, 404);
          await slash.body?.cancel();
          assert.equal(await databaseDigest(target.owner), before, "nothing may be written");
        },
      );

      await t.step("X-Request-ID: a sane one is echoed, anything else is replaced", async () => {
        const mine = "req-4f1c2a_77";
        const echoed = await link(c1, { contact_ids: [a.contactIds[0]] }, {
          key: a.keys.write,
          headers: { "x-request-id": mine },
        });
        assert.equal(echoed.headers.get("x-request-id"), mine);
        const failed = await link(c1, {}, { key: a.keys.write, headers: { "x-request-id": mine } });
        assert.equal(failed.headers.get("x-request-id"), mine);
        const insane = await link(c1, {}, {
          key: a.keys.write,
          headers: { "x-request-id": "<script>alert(1)</script>" },
        });
        const generated = insane.headers.get("x-request-id") ?? "";
        assert.match(generated, /^[0-9a-f-]{36}$/);
        assert.ok(logs.some((l) => l.includes(mine)), "the request id is in the log line");
      });

      await t.step("the key's use is recorded, without failing the request", async () => {
        await settle();
        const [row] = await target.owner<{ last_used_at: Date | null }>(
          "select last_used_at from public.api_keys where key_hash = $1",
          [await hashApiKey(a.keys.write)],
        );
        assert.ok(row.last_used_at, "last_used_at was set");
      });

      await t.step("no SQL, stack or secret text in any error body or log line", async () => {
        const errors = bodies.filter((b) => b.includes('"error"'));
        assert.ok(errors.length >= failures.length);
        for (const body of errors) assert.doesNotMatch(body, SQL_WORDS, body);
        const secrets = [...Object.values(a.keys), ...Object.values(b.keys)];
        const hashes = await Promise.all(secrets.map(hashApiKey));
        assertNoSecrets([...bodies, ...logs], [...secrets, ...hashes]);
      });
    },
  );
}

Deno.test({
  name: "link contacts: 500 and 503 answers",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const target = await getTarget("pglite");
  const a = await createTenant(target.owner);
  const secretText = 'relation "secret_table" does not exist SELECT wbk_';

  await t.step("an unexpected failure is 500 internal_error with a generic message", async () => {
    const { app, logs } = buildApp({
      ...target.db,
      linkContacts: () => Promise.reject(Object.assign(new Error(secretText), { code: "42P01" })),
    });
    const before = await databaseDigest(target.owner);
    const res = await postLink(app, a.companyIds[0], { contact_ids: [a.contactIds[0]] }, {
      key: a.keys.write,
    });
    assert.equal(res.status, 500);
    assert.equal(res.json.error.code, "internal_error");
    assert.ok(!res.text.includes("secret_table"));
    const errorLog = logs.map((l) => JSON.parse(l)).find((l) => l.level === "error");
    assert.equal(errorLog.code, "42P01");
    assert.equal(errorLog.request_id, res.headers.get("x-request-id"));
    assertNoSecrets(logs, ["secret_table", a.keys.write]);
    assert.equal(await databaseDigest(target.owner), before);
  });

  await t.step("an unreachable database is 503 service_unavailable with Retry-After", async () => {
    // A real driver against a port nobody listens on: the genuine connection failure.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const sql = connectPostgres(`postgresql://postgres@127.0.0.1:${port}/postgres`);
    try {
      const { app, logs } = buildApp(createSqlDb(postgresJsQuery(sql)));
      const res = await postLink(app, a.companyIds[0], { contact_ids: [a.contactIds[0]] }, {
        key: a.keys.write,
      });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json.error.code, "service_unavailable");
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      assert.doesNotMatch(res.text, /ECONNREFUSED|127\.0\.0\.1|postgres/i);
      assertNoSecrets(logs, [a.keys.write]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
