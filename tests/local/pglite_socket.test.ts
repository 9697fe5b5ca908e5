// The dev server's PGlite, served on a loopback port while the gateway queries it in process
// (local/pglite_socket.ts): clients and the gateway never see each other's unfinished work.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { shareSession } from "../../local/pglite_socket.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { freshPglite } from "../harness/targets.ts";

const OPTIONS = { sanitizeResources: false, sanitizeOps: false };

/** One PGlite for the file (half a second of CPU each, in a CPU-bound test run): each test
 * serves it anew, and what a test writes it counts from what was there before. */
let pglite: ReturnType<typeof freshPglite> | undefined;

/** A shared session on the file's PGlite; the gateway gives up waiting after `waitMs`. */
async function served(waitMs = 5_000) {
  const pg = await (pglite ??= freshPglite());
  const session = shareSession(pg, { waitMs });
  const socket = await session.listen(0);
  const clients: postgres.Sql[] = [];
  return {
    url: socket.url,
    gateway: session.query("service_role"),
    owner: session.query("postgres"),
    client(max = 1) {
      const sql = connectPostgres(socket.url, { role: null, max });
      clients.push(sql);
      return sql;
    },
    async close() {
      await Promise.all(clients.map((c) => c.end({ timeout: 0.1 })));
      await socket.stop();
    },
  };
}

function psql(url: string, sql: string): Promise<string> {
  return new Deno.Command("psql", {
    args: [url, "-X", "-Atc", sql],
    stdout: "piped",
    stderr: "piped",
  }).output().then((o) => {
    const text = new TextDecoder().decode(o.stdout).trim();
    assert.ok(o.success, `psql ${sql}: ${new TextDecoder().decode(o.stderr)}`);
    return text;
  });
}

/** A client speaking the wire protocol by hand, to stop between Parse and Sync at will. */
async function rawClient(url: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
  const encoder = new TextEncoder();
  let buffered = new Uint8Array(0);
  const message = (type: string, ...parts: (string | number[])[]) => {
    const body = parts.flatMap((p) => typeof p === "string" ? [...encoder.encode(`${p}\0`)] : p);
    const out = new Uint8Array(5 + body.length);
    out[0] = type.charCodeAt(0);
    new DataView(out.buffer).setInt32(1, 4 + body.length);
    out.set(body, 5);
    return out;
  };
  /** Reads until a message of type `until` or an ErrorResponse; returns the types seen. */
  const readUntil = async (until: string) => {
    const seen: string[] = [];
    for (;;) {
      while (buffered.length >= 5) {
        const length = new DataView(buffered.buffer, buffered.byteOffset).getInt32(1);
        if (buffered.length < 1 + length) break;
        const type = String.fromCharCode(buffered[0]);
        buffered = buffered.slice(1 + length);
        seen.push(type);
        if (type === until || type === "E") return seen;
      }
      const chunk = new Uint8Array(65536);
      const n = await conn.read(chunk);
      if (n === null) throw new Error(`connection closed, seen ${seen}`);
      buffered = new Uint8Array([...buffered, ...chunk.subarray(0, n)]);
    }
  };
  const startup = encoder.encode("\0\0\0\0\0\x03\0\0user\0postgres\0database\0postgres\0\0");
  new DataView(startup.buffer).setInt32(0, startup.length);
  await conn.write(startup);
  await readUntil("Z");
  return {
    send: (...messages: Uint8Array[]) =>
      conn.write(new Uint8Array(messages.flatMap((m) => [...m]))),
    readUntil,
    parse: (sql: string) => message("P", "", sql, [0, 0]),
    bind: () => message("B", "", "", [0, 0, 0, 0, 0, 0]),
    execute: () => message("E", "", [0, 0, 0, 0]),
    flush: () => message("H"),
    sync: () => message("S"),
    close: () => conn.close(),
  };
}

/** A test on its own shared session, closed whatever happens. */
function socketTest(
  name: string,
  body: (db: Awaited<ReturnType<typeof served>>) => Promise<void>,
  waitMs?: number,
) {
  Deno.test({ name: `pglite socket: ${name}`, ...OPTIONS }, async () => {
    const db = await served(waitMs);
    try {
      await body(db);
    } finally {
      await db.close();
    }
  });
}

const countPlans = "select count(*)::int as n from public.plans";
const addPlan = (name: string) =>
  `insert into public.plans (name, requests_per_day, requests_per_minute)
   values ('${name}', 1, 1)`;

socketTest(
  "the gateway waits for a client's transaction and sees only what it kept",
  async (db) => {
    const [{ n: before }] = await db.gateway<{ n: number }>(countPlans, []);
    const tx = await db.client().reserve();
    await tx.unsafe("begin");
    await tx.unsafe(addPlan("socket_probe"));
    let answered = false;
    const during = db.gateway<{ n: number }>(countPlans, []).finally(() => answered = true);
    // The client, inside its transaction, still runs (the gateway's call queued behind it)...
    const [{ n: inside }] = await tx.unsafe(countPlans);
    assert.equal(inside, before + 1);
    assert.equal(answered, false, "the gateway's statement waits for the client's transaction");
    await tx.unsafe("rollback");
    tx.release();
    // ...and the gateway's statement, run after the rollback, never saw the row.
    assert.deepEqual(await during, [{ n: before }]);
  },
);

socketTest(
  "statements of clients and gateway, all at once, each get their own answer",
  async (db) => {
    // Every driver sends Parse, Bind, Execute, Sync as separate messages; a statement of anyone
    // else between them would replace the unnamed statement (a wrong or failed answer).
    const a = db.client(4);
    const b = db.client(4);
    const work: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const sql = i % 2 ? a : b;
      work.push((async () => {
        const [row] = await sql.unsafe("select $1::int * 2 as v, 'client' as who", [i]);
        assert.deepEqual({ ...row }, { v: i * 2, who: "client" });
      })());
      work.push((async () => {
        const [row] = await db.gateway<{ v: number; who: string }>(
          "select $1::int * 3 as v, 'gateway' as who",
          [i],
        );
        assert.deepEqual(row, { v: i * 3, who: "gateway" });
      })());
    }
    await Promise.all(work);
  },
);

socketTest("the gateway never runs between a client's Parse and its Sync", async (db) => {
  const client = await rawClient(db.url);
  try {
    await client.send(client.parse("select 42 as answer"), client.bind(), client.flush());
    assert.deepEqual(await client.readUntil("2"), ["1", "2"], "ParseComplete, BindComplete");
    let answered = false;
    const call = db.gateway<{ v: number }>("select 7 as v", []).finally(() => answered = true);
    // The client's portal is still its own: the gateway's statement has not replaced it.
    await client.send(client.execute(), client.flush());
    assert.deepEqual(await client.readUntil("C"), ["D", "C"], "its row, then CommandComplete");
    assert.equal(answered, false, "the gateway waits for the Sync");
    await client.send(client.sync());
    await client.readUntil("Z");
    assert.deepEqual(await call, [{ v: 7 }]);
  } finally {
    client.close();
  }
});

socketTest(
  "a transaction held too long makes the gateway's call fail, never run late",
  async (db) => {
    const tx = await db.client().reserve();
    await tx.unsafe("begin");
    await assert.rejects(
      db.gateway(addPlan("late"), []),
      (err: { status?: number; code?: string }) =>
        err.status === 503 && err.code === "service_unavailable",
    );
    await tx.unsafe("commit");
    tx.release();
    const rows = await db.owner("select 1 from public.plans where name = 'late'", []);
    assert.deepEqual(rows, [], "the refused statement did not run once the session was free");
  },
  200,
);

socketTest("a client gone in the middle of a transaction leaves nothing behind", async (db) => {
  const sql = db.client();
  const tx = await sql.reserve();
  await tx.unsafe("begin");
  await tx.unsafe(addPlan("abandoned"));
  const waiting = db.gateway<{ n: number }>(
    "select count(*)::int as n from public.plans where name = 'abandoned'",
    [],
  );
  await sql.end({ timeout: 0 }); // the connection drops, its transaction still open
  assert.deepEqual(await waiting, [{ n: 0 }], "rolled back, and the gateway carries on");
});

socketTest("psql works; one client's transaction keeps another out until it ends", async (db) => {
  assert.match(await psql(db.url, "select version()"), /PGlite/);
  const tx = await db.client().reserve();
  await tx.unsafe("begin");
  await tx.unsafe(addPlan("first_client"));
  let seen: string | null = null;
  const other = psql(db.url, "select count(*) from public.plans where name = 'first_client'")
    .then((n) => seen = n);
  await tx.unsafe("select pg_sleep(0.3)");
  assert.equal(seen, null, "the other client waits");
  await tx.unsafe("commit");
  tx.release();
  assert.equal(await other, "1", "and then sees the committed row");
});

socketTest("a lone new client does not inherit the last one's role or settings", async (db) => {
  assert.equal(await psql(db.url, "set role anon; select current_user"), "SET\nanon");
  assert.equal(await psql(db.url, "select current_user"), "postgres");
  assert.deepEqual(await db.owner("select current_user as u", []), [{ u: "postgres" }]);
});
