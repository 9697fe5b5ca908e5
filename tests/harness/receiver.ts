/**
 * A webhook receiver on loopback, as an integration would write one: every delivery verified
 * with the `standardwebhooks` package (the reference implementation, not the gateway's code)
 * against the secrets it is given, and recorded; what it answers is the test's to choose, per
 * request (a status, a Retry-After, a redirect, or no answer at all).
 */
import { Webhook } from "standardwebhooks";

export interface Received {
  id: string;
  timestamp: number;
  signature: string;
  userAgent: string | null;
  body: string;
  /** The secrets (of those given) whose signature verified. */
  verifiedBy: string[];
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | "hang";

export function startReceiver(secrets: () => string[], answer: (n: number) => Answer = () => ({
  status: 200,
})) {
  const received: Received[] = [];
  const hanging: (() => void)[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const body = await req.text();
      const headers = Object.fromEntries(req.headers);
      const verifiedBy = secrets().filter((secret) => {
        try {
          new Webhook(secret).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      received.push({
        id: headers["webhook-id"],
        timestamp: Number(headers["webhook-timestamp"]),
        signature: headers["webhook-signature"],
        userAgent: req.headers.get("user-agent"),
        body,
        verifiedBy,
        at: performance.now(),
      });
      const a = answer(received.length);
      if (a === "hang") {
        return await new Promise<Response>((resolve) =>
          hanging.push(() => resolve(new Response("late", { status: 200 })))
        );
      }
      return new Response(a.body ?? "ok", { status: a.status, headers: a.headers });
    },
  );
  let closed: Promise<void> | undefined;
  const release = () => {
    for (const answerNow of hanging.splice(0)) answerNow();
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks`,
    received,
    /** Answers every request left hanging (200, late). */
    release,
    close() {
      release();
      closed ??= server.shutdown();
      return closed;
    },
  };
}
