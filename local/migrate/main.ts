/**
 * Applies the migrations (and the seed) to PGlite with the real Supabase CLI: PGlite is exposed on
 * a loopback socket for the few seconds `supabase db push` takes, exactly as a server would be.
 * A process of its own, so the dev server and the test run can wait for it, stop it with the CLI
 * it runs, and open the result afterwards (a data directory is opened by one process at a time).
 *
 *   main.ts --archive <file>   a new database, migrated and seeded, archived
 *   main.ts --data-dir <dir>   the migrations a kept database lacks
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { PGLITE_EXTENSIONS } from "../pglite.ts";
import { supabaseDbPush } from "../supabase_cli.ts";

const ROLES_SQL = new URL("../../supabase/roles.sql", import.meta.url);

const [mode, path] = Deno.args;

async function push(db: PGlite, seed: boolean) {
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
  const db = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
  await db.exec(await Deno.readTextFile(ROLES_SQL));
  await push(db, true);
  const blob = await db.dumpDataDir("none");
  await Deno.writeFile(path, new Uint8Array(await blob.arrayBuffer()));
  await db.close();
} else if (mode === "--data-dir" && path) {
  const db = await PGlite.create({ dataDir: path, extensions: PGLITE_EXTENSIONS });
  try {
    await push(db, true);
  } finally {
    await db.close();
  }
} else {
  console.error("usage: main.ts (--archive <file> | --data-dir <dir>)");
  Deno.exit(2);
}
