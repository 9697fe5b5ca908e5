/**
 * A webhook receiver: verifies each delivery with the Standard Webhooks reference library
 * (`standardwebhooks` on npm; the same code works in Node), answers fast, and handles each event
 * once, whatever the retries (the `webhook-id` is the idempotency key). It listens on 127.0.0.1
 * only, unless HOST says otherwise (HOST=0.0.0.0: every interface, reachable from other machines).
 *
 *   WEBHOOK_SECRET=whsec_... PORT=8787 \
 *     npx --yes deno@2.9.6 run --allow-env --allow-net examples/webhook_receiver.ts
 */
import { Webhook } from "standardwebhooks";

const secret = Deno.env.get("WEBHOOK_SECRET");
if (!secret) throw new Error("Set WEBHOOK_SECRET to the endpoint's secret (whsec_...).");
const webhook = new Webhook(secret);
/** Event ids already handled. A real receiver keeps them in its database, beside its writes. */
const seen = new Set<string>();

type Event = {
  type: "company.contacts_linked" | "company.contacts_unlinked";
  timestamp: string;
  data: {
    company_id: string;
    contact_ids: string[];
    count: number;
    moved_from?: Record<string, string>;
  };
};

const hostname = Deno.env.get("HOST") || "127.0.0.1";
Deno.serve({ hostname, port: Number(Deno.env.get("PORT") ?? 8787) }, async (req) => {
  const body = await req.text(); // the raw body: verification is over its exact bytes
  let event: Event;
  try {
    // Checks the signature (any of the v1 entries, so a secret rotation is seamless) and that
    // webhook-timestamp is within 5 minutes of this clock.
    event = webhook.verify(body, Object.fromEntries(req.headers)) as Event;
  } catch {
    return new Response("invalid signature", { status: 400 });
  }
  const id = req.headers.get("webhook-id")!;
  if (!seen.has(id)) {
    seen.add(id);
    // Answer within 10 s; slow work belongs in a queue.
    console.log(`${event.type}: ${event.data.count} contact(s), company ${event.data.company_id}`);
  }
  return new Response(null, { status: 204 });
});
