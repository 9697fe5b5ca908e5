/** The cold-start baseline: a bare Deno + Hono server, the same Deno and Hono as the gateway. */
import { Hono } from "hono";

const app = new Hono();
app.get("*", (c) => c.text("ok"));
Deno.serve(app.fetch);
