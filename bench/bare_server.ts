/** The cold-start baseline: a bare Deno + Hono server, the same Deno and Hono as the gateway. A
 * POST makes one request to BARE_UPSTREAM (the bench's PostgREST stand-in) with
 * BARE_UPSTREAM_BODY: the same database round trip as the gateway's first link. */
import { Hono } from "hono";

const upstream = Deno.env.get("BARE_UPSTREAM");
const app = new Hono();
app.get("*", (c) => c.text("ok"));
app.post("*", async (c) => {
  if (!upstream) return c.text("ok");
  const res = await fetch(upstream, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: Deno.env.get("BARE_UPSTREAM_BODY"),
  });
  return c.json(await res.json());
});
Deno.serve(app.fetch);
