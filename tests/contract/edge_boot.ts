// Boots the deployed entry point as it is, on a port the test chooses: Deno 2.1 (the edge
// runtime's line) has no DENO_SERVE_ADDRESS, and index.ts calls Deno.serve(handler) as the
// platform expects.
const port = Number(Deno.env.get("EDGE_BOOT_PORT"));
const serve = Deno.serve;
Object.assign(Deno, {
  serve: (handler: Deno.ServeHandler) =>
    serve({ port, hostname: "127.0.0.1", onListen() {} }, handler),
});
await import("../../supabase/functions/api-gateway/index.ts");
