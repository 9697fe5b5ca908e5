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

/** What a hostile receiver does with a request: answer with these raw bytes (a status line and
 * headers of any kind, then `body`, or `bodyBytes` zero bytes sent in chunks), never answer, or
 * drop the connection. */
export type HostileAnswer =
  | { head: string; body?: Uint8Array; bodyBytes?: number }
  | "hang"
  | "reset";

/** A loopback receiver written on raw TCP, so that it can answer what no HTTP library lets a
 * server say (status 799, a NUL or invalid UTF-8 in the body, a body of 10 MB, nothing at all, a
 * dropped connection). The path picks the answer: `url(name)` answers `answers[name]`. */
export function startHostileReceiver(answers: Record<string, HostileAnswer>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const received: Record<string, number> = {};
  const open = new Set<Deno.Conn>();
  const encoder = new TextEncoder();
  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    try {
      // The request's head and its body (Content-Length), then the chosen answer.
      let text = "";
      const buf = new Uint8Array(64 * 1024);
      while (true) {
        const n = await conn.read(buf);
        if (n === null) return;
        text += new TextDecoder().decode(buf.subarray(0, n));
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) continue;
        const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (new TextEncoder().encode(text.slice(end + 4)).length >= length) break;
      }
      const name = /^POST \/([^ ?]*)/.exec(text)?.[1] ?? "";
      received[name] = (received[name] ?? 0) + 1;
      const answer = answers[name] ?? { head: "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n" };
      if (answer === "hang") {
        await conn.read(buf).catch(() => null); // until the client gives up, or close()
        return;
      }
      if (answer === "reset") return;
      const body = answer.body ?? new Uint8Array(0);
      const length = answer.bodyBytes ?? body.length;
      await conn.write(
        encoder.encode(`${answer.head}content-length: ${length}\r\nconnection: close\r\n\r\n`),
      );
      if (answer.bodyBytes === undefined) {
        await conn.write(body);
      } else {
        const chunk = new Uint8Array(64 * 1024).fill(0x78); // "x"
        for (let sent = 0; sent < length; sent += chunk.length) {
          await conn.write(chunk.subarray(0, Math.min(chunk.length, length - sent)));
        }
      }
    } catch {
      // The client went away (it reads 256 bytes of a 10 MB body, then cancels).
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch { /* closed already */ }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) serve(conn);
    } catch { /* closed */ }
  })();
  return {
    url: (name: string) => `http://127.0.0.1:${port}/${name}`,
    /** Requests received, by answer name. */
    received,
    async close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
      await accepting;
    },
  };
}
