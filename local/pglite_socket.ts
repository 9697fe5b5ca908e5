/**
 * The dev server's PGlite, shared by the gateway (in process) and by any Postgres client (psql,
 * `deno task keys`, a GUI) on a loopback port, through @electric-sql/pglite-socket.
 *
 * PGlite is one Postgres backend: one session for everyone. pglite-socket 0.2.17 queues the
 * clients' wire messages and runs one at a time; while PGlite says a transaction is open it runs
 * only the messages of the client that ran last. That leaves two ways to interleave badly:
 *   - the gateway's own statements (PGlite's query and transaction methods) do not go through that
 *     queue: one would run inside a socket client's open transaction (and its COMMIT or ROLLBACK
 *     end the client's work), and a client's message could land between the gateway's BEGIN and
 *     COMMIT;
 *   - PGlite reports only explicit transaction blocks: between a client's Parse, Bind, Execute and
 *     its Sync (the extended protocol every driver uses) the session is busy too, and a statement
 *     of anyone else in between replaces that client's unnamed statement or portal.
 * So everyone takes one gate first (the session, FIFO). The gateway holds it for one call. A
 * socket client takes it with its first message and keeps it until Postgres answers
 * ReadyForQuery with status "idle" (`Z` ... `I`): not during a transaction ("T", "E") nor between
 * Parse and Sync. pglite-socket is handed a view of PGlite (socketView) whose isInTransaction()
 * says "a client holds the gate", so its queue also keeps other clients out until then.
 *
 * A client that holds an open transaction delays everyone else, as a lock would: the gateway waits
 * at most GATEWAY_WAIT_MS and answers 503, another client waits. A client that disconnects while
 * holding the session has its transaction rolled back, and the gate passes on.
 *
 * No password: the port listens on 127.0.0.1 only, as the Supabase CLI's local database
 * (`supabase start`, port 54322, postgres:postgres) serves anyone on the machine.
 */
import type { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { serviceUnavailable } from "../supabase/functions/api-gateway/errors.ts";
import { pgliteQuery, type Query } from "./sql_db.ts";

/** How long a gateway statement waits for a socket client's transaction: the same bound the
 * dev server's Postgres pool puts on a lock wait (local/postgres.ts, lock_timeout). */
export const GATEWAY_WAIT_MS = 5_000;
/** pglite-socket's default is 1: a second psql would be turned away. */
const MAX_CLIENTS = 32;

type Release = () => void;

/** One holder at a time, first come first served. A waiter with a timeout gives up its place
 * when it runs out (and so never runs late). */
export function createGate() {
  let held = false;
  const waiting: (() => void)[] = [];
  const releaser = (): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next(); // handed over: still held
      else held = false;
    };
  };
  return {
    acquire(timeoutMs?: number): Promise<Release> {
      if (!held) {
        held = true;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grant = () => {
          clearTimeout(timer);
          resolve(releaser());
        };
        waiting.push(grant);
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            waiting.splice(waiting.indexOf(grant), 1);
            reject(new Deno.errors.TimedOut(`the database session stayed busy ${timeoutMs} ms`));
          }, timeoutMs);
        }
      });
    },
  };
}

type Gate = ReturnType<typeof createGate>;

// ---- the wire messages this module writes or reads ----

const PROTOCOL_3 = 196608;
const TERMINATE = "X".charCodeAt(0);
const READY_FOR_QUERY = "Z".charCodeAt(0);
const IDLE = "I".charCodeAt(0);
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

function simpleQuery(sql: string): Uint8Array {
  const text = new TextEncoder().encode(`${sql}\0`);
  const message = new Uint8Array(5 + text.length);
  message[0] = "Q".charCodeAt(0);
  new DataView(message.buffer).setInt32(1, 4 + text.length);
  message.set(text, 5);
  return message;
}

const isStartup = (m: Uint8Array) =>
  m.length >= 8 && new DataView(m.buffer, m.byteOffset, m.byteLength).getInt32(4) === PROTOCOL_3;

/** Ends whatever a departing client left open: a transaction block (ROLLBACK), an extended
 * batch without its Sync (ROLLBACK aborts it; after an error Postgres ignores everything up to a
 * Sync, so: Sync, then ROLLBACK again for a failed transaction block). Warnings are discarded. */
const ABANDON = new Uint8Array([
  ...simpleQuery("ROLLBACK"),
  ...SYNC,
  ...simpleQuery("ROLLBACK"),
]);

/** Statements run with nothing to answer (the client is gone, or not told). */
const runQuietly = (pg: PGlite, message: Uint8Array) =>
  pg.execProtocolRawStream(message, { onRawData: () => {} });

/** What pglite-socket 0.2.17 uses of PGlite (dist/chunk-*.js: waitReady, isInTransaction,
 * runExclusive, execProtocolRawStream, and exec for its one ROLLBACK), routed through the gate.
 * Anything else it asks for fails loudly, so an upgrade that uses more cannot bypass the gate. */
function socketView(pg: PGlite, gate: Gate, clients: () => number): PGlite {
  let release: Release | null = null; // held by the socket side
  let idle = true; // the last message left the session ready, outside any transaction
  const letGo = () => {
    const r = release;
    release = null;
    r?.();
  };
  const view = {
    waitReady: pg.waitReady,
    isInTransaction: () => release !== null,
    async runExclusive<T>(run: () => Promise<T>): Promise<T> {
      release ??= await gate.acquire();
      try {
        return await pg.runExclusive(run);
      } finally {
        if (idle) letGo();
      }
    },
    async execProtocolRawStream(
      message: Uint8Array,
      options: { onRawData: (data: Uint8Array) => void },
    ): Promise<void> {
      // A lone new client starts from a clean session: no role, setting or prepared statement
      // left by the one before (with others connected, theirs stay).
      if (isStartup(message) && clients() <= 1) await runQuietly(pg, simpleQuery("DISCARD ALL"));
      const tail = new Uint8Array(6);
      let seen = 0;
      await pg.execProtocolRawStream(message, {
        onRawData: (data) => {
          for (const byte of data.subarray(Math.max(0, data.length - 6))) {
            tail.copyWithin(0, 1);
            tail[5] = byte;
            seen++;
          }
          options.onRawData(data);
        },
      });
      // PGlite answers Terminate with nothing; the disconnect that follows ends the session.
      if (message[0] === TERMINATE) return;
      idle = seen >= 6 && tail[0] === READY_FOR_QUERY && tail[4] === 5 && tail[5] === IDLE;
    },
    async exec(_rollback: string): Promise<unknown[]> {
      await pg.runExclusive(() => runQuietly(pg, ABANDON));
      idle = true;
      letGo();
      return [];
    },
  };
  return new Proxy(view, {
    get(target, name) {
      if (name in target) return target[name as keyof typeof target];
      throw new Error(
        `pglite-socket asked for PGlite.${String(name)}, which local/pglite_socket.ts does not ` +
          "route through its session gate",
      );
    },
  }) as unknown as PGlite;
}

/** The session gate in front of `pg`: gated queries for the gateway, and the socket. `waitMs`:
 * how long a gated query waits for the session (tests shorten it). */
export function shareSession(pg: PGlite, { waitMs = GATEWAY_WAIT_MS } = {}) {
  const gate = createGate();
  let server: PGLiteSocketServer | undefined;
  return {
    /** A Query as `role` (see pgliteQuery) that waits for the session at most `waitMs`, then
     * fails as an unreachable database does (the gateway answers 503). */
    query(role: string): Query {
      const inner = pgliteQuery(pg, role);
      return async <T>(text: string, params: unknown[]) => {
        let release: Release;
        try {
          release = await gate.acquire(waitMs);
        } catch {
          throw serviceUnavailable();
        }
        try {
          return await inner<T>(text, params);
        } finally {
          release();
        }
      };
    },
    /** Serves the session on 127.0.0.1:`port` (0: any free port); resolves with its URL. */
    async listen(port: number): Promise<{ url: string; port: number; stop(): Promise<void> }> {
      const clients = () => server?.getStats().activeConnections ?? 0;
      server = new PGLiteSocketServer({
        db: socketView(pg, gate, clients),
        host: "127.0.0.1",
        port,
        maxConnections: MAX_CLIENTS,
      });
      await server.start();
      const address = server.getServerConn();
      const s = server;
      return {
        // sslmode=disable: the socket speaks no TLS; clients that try it first (psql's default,
        // the Supabase CLI's) are told "no" and retry, but some drivers give up instead.
        url: `postgresql://postgres@${address}/postgres?sslmode=disable`,
        port: Number(address.split(":").pop()),
        stop: () => s.stop(),
      };
    },
  };
}
