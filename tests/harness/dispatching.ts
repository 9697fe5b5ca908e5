// What the delivery tests share: an org whose one active endpoint is a loopback receiver (made
// through the API, as an integration would), a dispatcher on a clock the test moves, and a fetch
// that refuses anything but the loopback range, so no test can send a packet elsewhere.
import assert from "node:assert/strict";
import type { Query } from "../../local/sql_db.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";
import {
  dispatchDue,
  type DispatchOptions,
} from "../../supabase/functions/api-gateway/webhooks/dispatch.ts";
import type { UrlPolicy } from "../../supabase/functions/api-gateway/webhooks/url_policy.ts";
import { buildApp, manualClock } from "./app.ts";
import { createTenant, type Tenant, type TenantOptions } from "./fixtures.ts";
import { send } from "./http.ts";
import { type Answer, startReceiver } from "./receiver.ts";
import { testResolver } from "./resolver.ts";
import { testSecretKeyring } from "./secrets.ts";

/** The dev server's policy (local http receivers) with the tests' resolver. */
export const LOCAL_POLICY: UrlPolicy = { allowLocalHttp: true, resolve: testResolver };

/** A fetch that sends only to 127.0.0.1; any other destination is recorded and refused, and the
 * test that allowed it fails on `assertLoopbackOnly`. */
export function loopbackFetch() {
  const refused: string[] = [];
  const calls: string[] = [];
  const guarded: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    calls.push(url.href);
    if (url.hostname !== "127.0.0.1") {
      refused.push(url.href);
      return Promise.reject(new Error(`refused to send to ${url.host}`));
    }
    return fetch(input, init);
  };
  return { fetch: guarded, calls, refused };
}

export interface Subscribed {
  org: Tenant;
  webhookId: string;
  /** The endpoint's secrets as the receiver knows them (the current one first). */
  secrets: string[];
  receiver: ReturnType<typeof startReceiver>;
  link(companyIndex: number, contactIndexes: number[]): Promise<void>;
  unlink(companyIndex: number, contactIndexes: number[]): Promise<void>;
  close(): Promise<void>;
}

/** A fresh org whose only active endpoint is a new loopback receiver answering `answer`. */
export async function subscribedOrg(
  db: GatewayDb,
  owner: Query,
  answer?: (n: number) => Answer,
  tenant: TenantOptions = {},
): Promise<Subscribed> {
  const org = await createTenant(owner, { companies: 3, contacts: 8, ...tenant });
  // The fixture's endpoints (public names) are not this test's.
  await owner("update public.webhook_endpoints set active = false where org_id = $1", [
    org.orgId,
  ]);
  const secrets: string[] = [];
  const receiver = startReceiver(() => secrets, answer);
  const { app } = buildApp(db, {
    webhooks: { urlPolicy: LOCAL_POLICY, fetch: loopbackFetch().fetch },
  });
  const created = await send(app, "POST", "/api-gateway/v1/webhooks", {
    key: org.keys.only["webhooks:write"],
    body: { url: receiver.url, events: ["company.contacts_linked", "company.contacts_unlinked"] },
  });
  assert.equal(created.status, 201, created.text);
  secrets.push(created.json.data.webhook.secret);
  const move = (action: string) => async (company: number, contacts: number[]) => {
    const res = await send(
      app,
      "POST",
      `/api-gateway/v1/companies/${org.companyIds[company]}/contacts/${action}`,
      {
        key: org.keys.only["contacts:write"],
        body: { contact_ids: contacts.map((i) => org.contactIds[i]) },
      },
    );
    assert.equal(res.status, 200, res.text);
  };
  return {
    org,
    webhookId: created.json.data.webhook.id,
    secrets,
    receiver,
    link: move("link"),
    unlink: move("unlink"),
    async close() {
      // What this org still has pending must not reach the next step's dispatcher.
      await owner(
        "update public.webhook_deliveries set status = 'cancelled' where org_id = $1 and status = 'pending'",
        [org.orgId],
      );
      await receiver.close();
    },
  };
}

/** A dispatcher on a clock the test moves, through `loopbackFetch`. The clock starts a minute
 * ahead of the database's, so what the test's requests write in that minute is due. */
export function testDispatcher(db: GatewayDb, overrides: Partial<DispatchOptions> = {}) {
  const clock = manualClock(new Date(Date.now() + 60_000));
  const guard = loopbackFetch();
  const logs: string[] = [];
  const options: DispatchOptions = {
    db,
    urlPolicy: LOCAL_POLICY,
    secretKeyring: testSecretKeyring,
    fetch: guard.fetch,
    clock: clock.now,
    log: (entry) => logs.push(JSON.stringify(entry)),
    ...overrides,
  };
  return {
    clock,
    logs,
    guard,
    round: (extra: Partial<DispatchOptions> = {}) => dispatchDue({ ...options, ...extra }),
    assertLoopbackOnly() {
      assert.deepEqual(guard.refused, [], "the dispatcher tried to send beyond loopback");
    },
  };
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
}

/** The org's deliveries to its loopback receiver (not the fixture's), oldest first. */
export async function deliveriesOf(owner: Query, orgId: string): Promise<DeliveryRow[]> {
  return await owner<DeliveryRow>(
    `select d.id, d.event_id, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at
     from public.webhook_deliveries d
     join public.webhook_endpoints e on e.id = d.endpoint_id
     where d.org_id = $1 and e.url like 'http://127.0.0.1:%'
     order by d.created_at, d.id`,
    [orgId],
  );
}

/** The org's attempts for one delivery, oldest first. */
export async function attemptsOf(owner: Query, deliveryId: string) {
  return await owner<{ attempt: number; status_code: number | null; error_class: string | null }>(
    `select attempt, status_code, error_class from public.webhook_attempts
     where delivery_id = $1 order by attempt, attempted_at`,
    [deliveryId],
  );
}
