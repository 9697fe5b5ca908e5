/**
 * A fake PostgREST on loopback: records the exact HTTP exchange the supabase adapter makes and
 * answers the way PostgREST does (replies chosen per RPC; an unknown function answers PGRST202).
 * The contract tests and the Deno 2.1 boot test share it: PostgREST itself cannot run here.
 */

export type Recorded = {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  text: string;
  body: unknown;
};
export type Reply = (req: Recorded) => Response | Promise<Response>;

export const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });

export const pgError = (
  status: number,
  code: string,
  message: string,
  details: string | null = null,
) => json(status, { code, message, details, hint: null });

export function startFakePostgrest() {
  const requests: Recorded[] = [];
  /** Replies by RPC name; a missing one answers like PostgREST does for an unknown function. */
  const replies: Record<string, Reply> = {};
  const held: (() => void)[] = [];
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      onError: () => new Response("fake handler failed", { status: 500 }),
    },
    async (req) => {
      const url = new URL(req.url);
      const text = await req.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const recorded: Recorded = {
        method: req.method,
        path: url.pathname,
        query: url.search,
        headers: Object.fromEntries(req.headers),
        text,
        body,
      };
      requests.push(recorded);
      const fn = url.pathname.replace(/^\/rest\/v1\/rpc\//, "");
      const reply = replies[fn];
      if (!reply) {
        return pgError(404, "PGRST202", `Could not find the function public.${fn}`);
      }
      return await reply(recorded);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    replies,
    /** A reply that does not come before the server closes, or, should the client not give up
     * on its own, a success after 3 s: a missing timeout then fails the test instead of hanging. */
    hang: (): Reply => () =>
      new Promise<Response>((resolve) => {
        const timer = setTimeout(() => resolve(json(200, [])), 3000);
        held.push(() => {
          clearTimeout(timer);
          resolve(new Response(null));
        });
      }),
    reset() {
      requests.length = 0;
      for (const k of Object.keys(replies)) delete replies[k];
    },
    async close() {
      for (const release of held.splice(0)) release();
      await server.shutdown();
    },
  };
}
export type FakePostgrest = ReturnType<typeof startFakePostgrest>;
