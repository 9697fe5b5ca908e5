/**
 * Applies the migrations (and the seed) to PGlite with the real Supabase CLI: PGlite is exposed on
 * a loopback socket for the few seconds `supabase db push` takes, exactly as a server would be.
 *
 * A process of its own, with its own import map and lock file beside this file, outside the
 * workspace: @electric-sql/pglite-socket declares seven PGlite extension packages as peers, and
 * `deno task` downloads every package the workspace's import maps name before running any task.
 * Kept out of them, the socket and its peers are downloaded only by a start that has to migrate
 * (local/pglite.ts runs this only when the migrations changed).
 *
 *   main.ts <PGlite version> --archive <file>   a new database, migrated and seeded, archived
 *   main.ts <PGlite version> --data-dir <dir>   the migrations a kept database lacks
 *
 * The caller passes the PGlite release it loads archives with: both must be the same.
 */
import { PGlite } from "@electric-sql/pglite";
import { pgliteVersion } from "../pglite.ts";
import { supabaseDbPush } from "../supabase_cli.ts";

/** What is used of @electric-sql/pglite-socket. Imported by a name that is not a literal, so the
 * workspace's `deno check` (whose import map does not hold the package) passes over it. */
interface SocketServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  getServerConn(): string;
}
type SocketModule = {
  PGLiteSocketServer: new (o: { db: PGlite; host: string; port: number }) => SocketServer;
};
const SOCKET_PACKAGE = "@electric-sql/pglite-socket";

const ROLES_SQL = new URL("../../supabase/roles.sql", import.meta.url);

const [expected, mode, path] = Deno.args;
const mine = pgliteVersion();
if (expected !== mine) {
  console.error(`PGlite differs: the caller loads ${expected}, local/migrate/imports.json ${mine}`);
  Deno.exit(1);
}

async function push(db: PGlite, seed: boolean) {
  const { PGLiteSocketServer }: SocketModule = await import(SOCKET_PACKAGE);
  const socket = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0 });
  await socket.start();
  try {
    await supabaseDbPush(
      `postgresql://postgres@${socket.getServerConn()}/postgres?sslmode=disable`,
      { seed },
    );
  } finally {
    await socket.stop();
  }
}

if (mode === "--archive" && path) {
  const db = await PGlite.create();
  await db.exec(await Deno.readTextFile(ROLES_SQL));
  await push(db, true);
  const blob = await db.dumpDataDir("none");
  await Deno.writeFile(path, new Uint8Array(await blob.arrayBuffer()));
  await db.close();
} else if (mode === "--data-dir" && path) {
  const db = await PGlite.create({ dataDir: path });
  try {
    await push(db, true);
  } finally {
    await db.close();
  }
} else {
  console.error("usage: main.ts <PGlite version> (--archive <file> | --data-dir <dir>)");
  Deno.exit(2);
}
