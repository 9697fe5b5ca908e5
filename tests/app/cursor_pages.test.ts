// Every list, paged by cursor (issue 24), on every database target: a walk returns every row
// once, in the list's order, at any size; links and unlinks during a walk break none of the
// rules; malformed and foreign cursors are refused before the call; page mode stops at an offset
// of 10,000. A new list joins by a line in LISTS (its rows made and changed in SQL).
import assert from "node:assert/strict";
import type { GatewayApp } from "../../supabase/functions/api-gateway/app.ts";
import {
  encodeCursor,
  MAX_CURSOR_LENGTH,
  MAX_OFFSET,
} from "../../supabase/functions/api-gateway/kit/cursor.ts";
import type { AnyEndpoint } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { listApiKeys } from "../../supabase/functions/api-gateway/routes/list_api_keys.ts";
import { listCompanyContacts } from "../../supabase/functions/api-gateway/routes/list_company_contacts.ts";
import { listWebhookDeliveries } from "../../supabase/functions/api-gateway/routes/list_webhook_deliveries.ts";
import { listWebhooks } from "../../supabase/functions/api-gateway/routes/list_webhooks.ts";
import { buildApp } from "../harness/app.ts";
import { createTenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { type DbTarget, getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

/** One parent's list with `n` rows, and how to change it under a walk. */
interface Made {
  params: Record<string, string>;
  key: string;
  /** The rows now, in the list's order, from the tables. */
  ids(): Promise<string[]>;
  /** A row put in the list at a random place in its order. */
  add(): Promise<string>;
  remove(id: string): Promise<void>;
  /** Another parent's params, same org and list (none for a top-level list). */
  sibling?: Record<string, string>;
  /** The list's own filters, sent with every page (`search=...`). */
  filter?: string;
}

interface ListCase {
  name: string;
  endpoint: AnyEndpoint;
  /** The list's order on created_at: ascending (oldest first) or not. */
  ascending: boolean;
  make(target: DbTarget, n: number): Promise<Made>;
}

// Rows share created_at in pairs, so the tie-break by id is walked over too; microseconds, which a
// client library may cut to milliseconds on the way to the database (postgres.js does with a
// timestamptz parameter): a cursor must keep them.
const at = (second: number, micro: number) =>
  `2030-01-01T00:00:${String(second).padStart(2, "0")}.${String(micro).padStart(6, "0")}Z`;
const spread = (i: number) => at(i >> 2, 123_456 + ((i >> 1) & 1) * 400);
const randomAt = () => at(Math.floor(Math.random() * 10), Math.floor(Math.random() * 1_000_000));

const LISTS: ListCase[] = [
  {
    name: "a company's contacts",
    endpoint: listCompanyContacts,
    ascending: true,
    async make({ owner }, n) {
      const t = await createTenant(owner, { companies: 2, contacts: n + 40 });
      const [company, sibling] = t.companyIds;
      const spare = t.contactIds.slice(n);
      for (const [i, id] of t.contactIds.slice(0, n).entries()) {
        await owner(
          "update public.contacts set company_id = $1, created_at = $2::text::timestamptz where id = $3",
          [
            company,
            spread(i),
            id,
          ],
        );
      }
      return {
        params: { id: company },
        key: t.keys.read,
        sibling: { id: sibling },
        ids: async () =>
          (await owner<{ id: string }>(
            `select id from public.contacts where company_id = $1 order by created_at, id`,
            [company],
          )).map((r) => r.id),
        async add() {
          const id = spare.shift()!;
          await owner(
            "update public.contacts set company_id = $1, created_at = $2::text::timestamptz where id = $3",
            [
              company,
              randomAt(),
              id,
            ],
          );
          return id;
        },
        async remove(id) {
          await owner("update public.contacts set company_id = null where id = $1", [id]);
        },
      };
    },
  },
  {
    name: "the webhook endpoints",
    endpoint: listWebhooks,
    ascending: true,
    async make({ owner }, n) {
      const t = await createTenant(owner);
      const [model] = t.webhookIds;
      let made = 0;
      const insert = async (createdAt: string) =>
        (await owner<{ id: string }>(
          `insert into public.webhook_endpoints (org_id, url, events, secret, created_at)
           select org_id, url || '/' || $2, events, secret, $3::text::timestamptz
           from public.webhook_endpoints
           where id = $1 returning id`,
          [model, made++, createdAt],
        ))[0].id;
      for (let i = 0; i < n; i++) await insert(spread(i));
      // Out of the list, still the model of the rows added.
      await owner(
        "update public.webhook_endpoints set deleted_at = now() where id = any($1::uuid[])",
        [
          t.webhookIds,
        ],
      );
      return {
        params: {},
        key: t.keys.only["webhooks:read"],
        ids: async () =>
          (await owner<{ id: string }>(
            `select id from public.webhook_endpoints where org_id = $1 and deleted_at is null
             order by created_at, id`,
            [t.orgId],
          )).map((r) => r.id),
        add: () => insert(randomAt()),
        async remove(id) {
          await owner("update public.webhook_endpoints set deleted_at = now() where id = $1", [id]);
        },
      };
    },
  },
  {
    name: "a webhook's deliveries",
    endpoint: listWebhookDeliveries,
    ascending: false,
    async make({ owner }, n) {
      const t = await createTenant(owner);
      const [sibling, endpoint] = t.webhookIds;
      const [{ id: event }] = await owner<{ id: string }>(
        `insert into public.webhook_events (org_id, type, body)
         values ($1, 'company.contacts_linked', '{}') returning id`,
        [t.orgId],
      );
      const insert = async (createdAt: string) =>
        (await owner<{ id: string }>(
          `insert into public.webhook_deliveries (org_id, event_id, endpoint_id, created_at)
           values ($1, $2, $3, $4::text::timestamptz) returning id`,
          [t.orgId, event, endpoint, createdAt],
        ))[0].id;
      for (let i = 0; i < n; i++) await insert(spread(i));
      return {
        params: { id: endpoint },
        key: t.keys.only["webhooks:read"],
        sibling: { id: sibling },
        ids: async () =>
          (await owner<{ id: string }>(
            `select id from public.webhook_deliveries where endpoint_id = $1
             order by created_at desc, id`,
            [endpoint],
          )).map((r) => r.id),
        add: () => insert(randomAt()),
        async remove(id) {
          await owner("delete from public.webhook_deliveries where id = $1", [id]);
        },
      };
    },
  },
  {
    name: "the API keys",
    endpoint: listApiKeys,
    ascending: true,
    async make({ owner }, n) {
      // The tenant's own keys are listed too: the walked ones are those its search finds.
      const t = await createTenant(owner);
      const insert = async (createdAt: string) =>
        (await owner<{ id: string }>(
          `insert into public.api_keys (org_id, name, key_hash, prefix, permissions, created_at)
           values ($1, 'walked ' || gen_random_uuid(), md5(random()::text) || md5(random()::text),
                   'wbk_walked00', '{contacts:read}', $2::text::timestamptz)
           returning id`,
          [t.orgId, createdAt],
        ))[0].id;
      for (let i = 0; i < n; i++) await insert(spread(i));
      return {
        params: {},
        key: t.keys.only["admin:api_keys"],
        filter: "search=walked",
        ids: async () =>
          (await owner<{ id: string }>(
            `select id from public.api_keys
             where org_id = $1 and name like 'walked %' and revoked_at is null
             order by created_at, id`,
            [t.orgId],
          )).map((r) => r.id),
        add: () => insert(randomAt()),
        async remove(id) {
          await owner("update public.api_keys set revoked_at = now() where id = $1", [id]);
        },
      };
    },
  },
];

type Row = { id: string; created_at: string };
type Meta = {
  page?: number;
  per_page: number;
  total?: number;
  has_more: boolean;
  next_cursor: string | null;
};

function lister(app: GatewayApp, list: ListCase, made: Made) {
  const filter = made.filter ? `&${made.filter}` : "";
  return (query: string, params = made.params) =>
    send(app, "GET", `${routePath(list.endpoint, params)}?${query}${filter}`, { key: made.key });
}

/** The whole list: the first page (page mode), then by cursor until next_cursor is null;
 * `between` runs before each cursor page. Every page's meta is checked on the way. */
async function walk(
  app: GatewayApp,
  list: ListCase,
  made: Made,
  perPage: number,
  between: () => Promise<void> = async () => {},
): Promise<{ rows: Row[]; pages: number }> {
  const get = lister(app, list, made);
  const first = await get(`per_page=${perPage}`);
  assert.equal(first.status, 200, first.text);
  const rows: Row[] = [...first.json.data];
  let meta: Meta = first.json.meta;
  assert.equal(meta.page, 1);
  assert.equal(typeof meta.total, "number");
  let pages = 1;
  while (true) {
    assert.equal(meta.per_page, perPage);
    assert.equal(meta.has_more, meta.next_cursor !== null, JSON.stringify(meta));
    if (meta.next_cursor === null) break;
    assert.ok(meta.next_cursor.length <= MAX_CURSOR_LENGTH);
    await between();
    const res = await get(`cursor=${encodeURIComponent(meta.next_cursor)}&per_page=${perPage}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.data.length <= perPage);
    meta = res.json.meta;
    assert.deepEqual(Object.keys(meta).sort(), ["has_more", "next_cursor", "per_page"]);
    rows.push(...res.json.data);
    pages++;
    assert.ok(pages < 1_000, "the walk ends");
  }
  return { rows, pages };
}

/** (created_at, id) strictly in the list's order: no row twice, none out of place. */
function assertOrdered(list: ListCase, rows: Row[]) {
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1], rows[i]];
    const earlier = list.ascending ? a.created_at < b.created_at : a.created_at > b.created_at;
    assert.ok(earlier || (a.created_at === b.created_at && a.id < b.id), `${a.id} then ${b.id}`);
  }
}

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `lists by cursor [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { app } = buildApp(target.db);
      try {
        for (const list of LISTS) {
          const PER_PAGE = 3;
          for (const n of [0, 1, PER_PAGE, PER_PAGE + 1, 4 * PER_PAGE + 2]) {
            await t.step(`${list.name}: ${n} rows walked ${PER_PAGE} a page`, async () => {
              const made = await list.make(target, n);
              const expected = await made.ids();
              assert.equal(expected.length, n);
              const { rows, pages } = await walk(app, list, made, PER_PAGE);
              assert.deepEqual(rows.map((r) => r.id), expected, "every row once, in order");
              assert.equal(pages, Math.max(1, Math.ceil(n / PER_PAGE)), "no empty last page");
              assertOrdered(list, rows);
              // The first page's total, exact; 100 a page, one page.
              const whole = await lister(app, list, made)("per_page=100");
              assert.equal(whole.json.meta.total, n);
              assert.deepEqual(whole.json.meta.next_cursor, null);
              assert.equal(whole.json.meta.has_more, false);
            });
          }

          await t.step(`${list.name}: rows added and removed during a walk`, async () => {
            const made = await list.make(target, 20);
            const before = new Set(await made.ids());
            const added = new Set<string>();
            const removed = new Set<string>();
            const { rows } = await walk(app, list, made, 3, async () => {
              // Each page: a row added somewhere, and one removed (never one just added).
              added.add(await made.add());
              const left = [...before].filter((id) => !removed.has(id));
              const gone = left[Math.floor(Math.random() * left.length)];
              await made.remove(gone);
              removed.add(gone);
            });
            const ids = rows.map((r) => r.id);
            assert.equal(new Set(ids).size, ids.length, "no row twice");
            for (const id of before) {
              if (!removed.has(id)) assert.ok(ids.includes(id), `${id} stayed, and was skipped`);
            }
            for (const id of ids) assert.ok(before.has(id) || added.has(id), `${id} never listed`);
            assertOrdered(list, rows);
          });

          await t.step(`${list.name}: malformed and foreign cursors are 400`, async () => {
            const made = await list.make(target, 4);
            const get = lister(app, list, made);
            const first = await get("per_page=1");
            const cursor: string = first.json.meta.next_cursor;
            const b64 = (s: string) =>
              btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
            const [, name, parent, at, id] = JSON.parse(
              atob(cursor.replaceAll("-", "+").replaceAll("_", "/")),
            );
            const forge = (...v: unknown[]) => b64(JSON.stringify(v));
            const malformed = [
              "",
              "x",
              "!!!!",
              cursor.slice(0, -3),
              `${cursor}A`,
              "A".repeat(MAX_CURSOR_LENGTH + 1),
              "A".repeat(100_000),
              b64("null"),
              b64("{}"),
              b64("[]"),
              b64("\u0000"),
              forge(2, name, parent, at, id),
              forge(1, name, parent, at, id, "extra"),
              forge(1, name, parent, "2030-02-30T00:00:00.000000Z", id),
              forge(1, name, parent, "0000-01-01T00:00:00.000000Z", id),
              forge(1, name, parent, "2030-01-01T24:00:00.000000Z", id),
              forge(1, name, parent, "2030-01-01 00:00:00+00", id),
              forge(1, name, parent, at, id.toUpperCase()),
              forge(1, name, parent, at, "not-a-uuid"),
              forge(1, name, parent, at, 42),
              forge(1, name, 7, at, id),
              forge(1, `${name}\u00e9`, parent, at, id),
              forge(1, name, parent, ["2030"], id),
            ];
            for (const bad of malformed) {
              const res = await get(`cursor=${encodeURIComponent(bad)}`);
              assert.equal(res.status, 400, `${bad.slice(0, 60)}: ${res.text.slice(0, 300)}`);
              assert.equal(res.json.error.code, "validation_error");
              assert.equal(res.json.error.details[0].path, "cursor");
              assert.ok(res.text.length < 1_000, "a small answer");
            }
            const foreign = [
              forge(1, name === "webhooks" ? "company_contacts" : "webhooks", parent, at, id),
              ...(made.sibling
                ? [encodeCursor(name, made.sibling.id, { created_at: at, id })]
                : [encodeCursor(name, crypto.randomUUID(), { created_at: at, id })]),
            ];
            for (const bad of foreign) {
              const res = await get(`cursor=${bad}`);
              assert.equal(res.status, 400, res.text);
              assert.equal(res.json.error.code, "validation_error");
              assert.match(res.json.error.message, /another list/);
            }
            if (made.sibling) {
              // The sibling's own cursor on the sibling's list is fine (and empty or not).
              const res = await get(
                `cursor=${encodeCursor(name, made.sibling.id, { created_at: at, id })}`,
                made.sibling,
              );
              assert.equal(res.status, 200, res.text);
            }
            const both = await get(`page=1&cursor=${cursor}`);
            assert.equal(both.status, 400);
            assert.equal(both.json.error.details[0].path, "cursor");
            const ok = await get(`cursor=${cursor}&per_page=2`);
            assert.equal(ok.status, 200);
            assert.equal(ok.json.data.length, 2);
          });

          await t.step(`${list.name}: page mode stops at an offset of ${MAX_OFFSET}`, async () => {
            const made = await list.make(target, 2);
            const get = lister(app, list, made);
            for (
              const [query, ok] of [
                ["page=101&per_page=100", true], // offset 10,000
                ["page=10001&per_page=1", true], // offset 10,000
                ["page=10002&per_page=1", false], // offset 10,001
                ["page=102&per_page=100", false],
                ["page=2147483647&per_page=100", false],
              ] as const
            ) {
              const res = await get(query);
              if (ok) {
                assert.equal(res.status, 200, `${query}: ${res.text}`);
                assert.deepEqual(res.json.data, []);
                assert.equal(res.json.meta.total, 2, "total stays exact");
                assert.equal(res.json.meta.next_cursor, null);
              } else {
                assert.equal(res.status, 400, `${query}: ${res.text}`);
                assert.equal(res.json.error.code, "validation_error");
                assert.equal(res.json.error.details[0].path, "page");
                assert.match(res.json.error.message, /cursor/);
              }
            }
          });
        }
      } finally {
        await target.close();
      }
    },
  );
}
