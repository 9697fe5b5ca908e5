/** Webhook delivery latency in the dev server (`deno task dev` on the bench's Postgres, its
 * dispatcher running every second): from a link's 200 (its transaction, and so its event, already
 * committed) to the moment a loopback receiver has the delivery. Requests go one at a time at an
 * even pace, each moving one contact of its own, so each makes one event that names it. */
import { newWebhookSecret } from "../supabase/functions/api-gateway/webhooks/secret.ts";
import { COMPANY_ID, CONTACT_ID, ORG_ID } from "./dataset.ts";
import type { BenchDb } from "./database.ts";
import { benchKeyring, LINK_PATH, startGateway } from "./gateway.ts";
import { percentile, sleep } from "./load.ts";
import type { Progress } from "./measure.ts";

export interface DeliveryLatency {
  events: number;
  /** Milliseconds from each link's answer to its delivery's arrival. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The dispatcher's period in the dev server, which bounds the wait for a round. */
  periodMs: number;
}

/** The org whose contacts move (the bench data set's first). */
const ORG = 1;

export async function measureDeliveryLatency(
  db: BenchDb,
  events: number,
  paceMs: number,
  say: Progress,
): Promise<DeliveryLatency> {
  const sql = db.control();
  const arrived = new Map<string, number>();
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const at = performance.now();
    const body = JSON.parse(await req.text());
    arrived.set(body.data.contact_ids[0], at);
    return new Response(null, { status: 204 });
  });
  // The endpoint is written directly: the bench's keys carry contacts:write only. The dev server
  // allows a loopback receiver (and only the dev server does).
  await sql.unsafe(
    `insert into public.webhook_endpoints (org_id, url, events, secret)
     values (${ORG_ID(String(ORG))}, $1, '{company.contacts_linked}', $2)`,
    [
      `http://127.0.0.1:${receiver.addr.port}/hooks`,
      await benchKeyring.encrypt(newWebhookSecret()),
    ],
  );
  const [{ key }] = await sql<{ key: string }[]>`select key from bench.keys where n = ${ORG}`;
  const companies = await sql<{ id: string }[]>`
    select ${sql.unsafe(COMPANY_ID(String(ORG), "j"))}::text as id
    from generate_series(1, 2) j`;
  const contacts = await sql<{ id: string }[]>`
    select ${sql.unsafe(CONTACT_ID(String(ORG), "i"))}::text as id
    from generate_series(1, ${events}) i`;

  // Unlinked first, whatever the runs before did: each link below changes its contact.
  await sql.unsafe(
    `update public.contacts set company_id = null
     where org_id = ${ORG_ID(String(ORG))} and id = any ($1::uuid[])`,
    [contacts.map((c) => c.id)],
  );

  say(`webhook latency: deno task dev with its dispatcher, ${events} links ${paceMs} ms apart`);
  const gw = await startGateway(db.url(), { webhooks: true });
  const answered = new Map<string, number>();
  try {
    for (let i = 0; i < events; i++) {
      const contact = contacts[i].id;
      const res = await fetch(`${gw.base}${LINK_PATH(companies[i % 2].id)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ contact_ids: [contact] }),
      });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`a link answered ${res.status}`);
      answered.set(contact, performance.now());
      await sleep(paceMs);
    }
    const deadline = Date.now() + 60_000;
    while (arrived.size < events && Date.now() < deadline) await sleep(50);
  } finally {
    await gw.stop();
    await receiver.shutdown();
    await sql.unsafe(`delete from public.webhook_endpoints where org_id = ${ORG_ID(String(ORG))}`);
  }
  if (arrived.size < events) {
    throw new Error(`only ${arrived.size} of ${events} deliveries arrived`);
  }
  const latencies = [...answered].map(([contact, at]) => arrived.get(contact)! - at)
    .sort((a, b) => a - b);
  return {
    events,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1)!,
    periodMs: 1_000,
  };
}
