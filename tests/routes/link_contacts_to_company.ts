// The link endpoint: its declaration for the shared suites, and its own HTTP contract.
import assert from "node:assert/strict";
import { linkContactsToCompany } from "../../supabase/functions/api-gateway/routes/link_contacts_to_company.ts";
import { MAX_CONTACT_IDS } from "../../supabase/functions/api-gateway/limits.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { assertNoSecrets } from "../harness/app.ts";
import { allKeys, companyOf, createTenant, databaseDigest } from "../harness/fixtures.ts";
import { type Answer, routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { checkBatch200, crossOrgBatch, okBatch, validBatch } from "../harness/contact_batches.ts";

const MISSING = "00000000-0000-4000-8000-00000000dead";
const SQL_WORDS =
  /\b(select|insert|update|delete|from|where|relation|column|syntax|postgres|sqlstate|pglite|stack)\b/i;

const path = (companyId: string) => routePath(linkContactsToCompany, { id: companyId });

export default defineRouteTest({
  endpoint: linkContactsToCompany,
  valid: validBatch,
  ok: okBatch,
  sqlData: { updated: 2, failed: 0, failed_ids: [] },
  writes: true,
  crossOrg: crossOrgBatch,
  property: {
    // The published limit (docs/using-the-api.md: 1 to 100 ids), written out on purpose: see maxItems.
    maxItems: { contact_ids: 100 },
    // Afterwards each of the org's contacts among the ids is linked to the company.
    check200: checkBatch200((company, now) => now === company),
  },

  async contract(t, { target, build }) {
    const { app, logs } = build();
    const a = await createTenant(target.owner, { companies: 2, contacts: 5 });
    const b = await createTenant(target.owner, { companies: 1, contacts: 2 });
    const [c1, c2] = a.companyIds;
    const bodies: string[] = [];
    const link = async (
      companyId: string,
      body: unknown,
      opts: { key?: string | null; headers?: Record<string, string> } = {},
    ) => {
      const res = await send(app, "POST", path(companyId), { body, ...opts });
      bodies.push(res.text);
      return res;
    };

    await t.step("links contacts and answers the counts", async () => {
      const res = await link(c1, { contact_ids: a.contactIds.slice(0, 2) }, { key: a.keys.write });
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
      const updatedAt = async () =>
        (await target.owner<{ updated_at: Date }>(
          "select updated_at from public.contacts where id = $1",
          [a.contactIds[0]],
        ))[0].updated_at;
      const before = await updatedAt();
      const res = await link(c1, { contact_ids: a.contactIds.slice(0, 2) }, { key: a.keys.write });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.data, { updated: 2, failed: 0, failed_ids: [] });
      assert.deepEqual(await updatedAt(), before, "an unchanged row is not rewritten");
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

    await t.step("duplicate ids count once, whatever their case", async () => {
      const id = a.contactIds[2];
      const res = await link(c1, { contact_ids: [id, id, id.toUpperCase(), MISSING, MISSING] }, {
        key: a.keys.write,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.data, { updated: 1, failed: 1, failed_ids: [MISSING] });
    });

    await t.step(`exactly ${MAX_CONTACT_IDS} ids are accepted`, async () => {
      const big = await createTenant(target.owner, { companies: 1, contacts: MAX_CONTACT_IDS });
      const res = await link(big.companyIds[0], { contact_ids: big.contactIds }, {
        key: big.keys.write,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.data, { updated: MAX_CONTACT_IDS, failed: 0, failed_ids: [] });
      const linked = await companyOf(target.owner, big.contactIds);
      assert.ok(Object.values(linked).every((c) => c === big.companyIds[0]));
    });

    // Every failure: status, code, and not one byte of business data written.
    const failures: {
      name: string;
      status: number;
      code: string;
      send: () => Promise<Answer>;
      check?: (res: Answer) => void;
    }[] = [
      {
        name: "contact_ids missing",
        status: 400,
        code: "validation_error",
        send: () => link(c1, {}, { key: a.keys.write }),
        check: (r) => assert.deepEqual(r.json.error.details[0].path, "contact_ids"),
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
      ...[MAX_CONTACT_IDS + 1, 1_000, 1_600].map((n) => ({
        name: `${n} ids (over ${MAX_CONTACT_IDS}), refused by validation, not by the database`,
        status: 400,
        code: "validation_error",
        send: () =>
          link(c1, { contact_ids: Array.from({ length: n }, () => crypto.randomUUID()) }, {
            key: a.keys.write,
          }),
        check: (r: Answer) => {
          assert.equal(r.json.error.details[0].path, "contact_ids");
          assert.equal(r.json.error.details[0].code, "too_big");
        },
      })),
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
          assert.ok(r.json.error.details.every((d: { in: string }) => d.in === "body"));
          assert.match(r.json.error.message, /^Invalid request body\. contact_ids\.3/);
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
        check: (r) => {
          assert.equal(r.json.error.details[0].path, "id");
          assert.equal(r.json.error.details[0].in, "path");
          assert.match(r.json.error.message, /^Invalid request path\./);
        },
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
        f.check?.(res);
        assert.equal(await databaseDigest(target.owner), before, "nothing may be written");
      });
    }

    await t.step("404 not_found for unknown routes, 405 with Allow for wrong methods", async () => {
      const before = await databaseDigest(target.owner);
      const unknown = await send(app, "GET", "/api-gateway/v1/nothing-here", { key: a.keys.write });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.error.code, "not_found");
      for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
        const res = await send(app, method, path(c1), { key: a.keys.write });
        assert.equal(res.status, 405, method);
        assert.equal(res.json.error.code, "method_not_allowed");
        assert.match(res.headers.get("allow") ?? "", /\bPOST\b/);
      }
      // A trailing slash is another path: unknown, not a method mismatch.
      const slash = await send(app, "POST", `${path(c1)}/`, { key: a.keys.write });
      assert.equal(slash.status, 404);
      assert.equal(await databaseDigest(target.owner), before, "nothing may be written");
    });

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
      assert.match(insane.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
      assert.ok(logs.some((l) => JSON.parse(l).request_id === mine), "the id is in the log line");
    });

    await t.step("the key's use is recorded by the call itself", async () => {
      const [row] = await target.owner<{ last_used_at: Date | null }>(
        "select last_used_at from public.api_keys where key_hash = $1",
        [await hashApiKey(a.keys.write)],
      );
      assert.ok(row.last_used_at, "last_used_at was set");
    });

    await t.step("no SQL, stack or secret text in any error body or log line", async () => {
      const errors = bodies.filter((b) => b.includes('"error"'));
      assert.ok(errors.length >= failures.length - 3);
      for (const body of errors) assert.doesNotMatch(body, SQL_WORDS, body);
      const secrets = allKeys(a, b);
      const hashes = await Promise.all(secrets.map(hashApiKey));
      assertNoSecrets([...bodies, ...logs], [...secrets, ...hashes]);
    });
  },
});
