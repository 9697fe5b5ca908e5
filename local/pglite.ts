import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { supabaseDbPush } from "./supabase_cli.ts";

const ROLES_SQL = new URL("../supabase/roles.sql", import.meta.url);

/** Embedded Postgres with the Supabase roles, then every migration and (optionally) the seed,
 * applied by the real Supabase CLI: PGlite is exposed on a loopback socket for the duration of
 * `supabase db push`, exactly as a server would be. */
export async function openPglite(options: { seed?: boolean } = {}): Promise<PGlite> {
  const db = await PGlite.create();
  await db.exec(await Deno.readTextFile(ROLES_SQL));
  const socket = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0 });
  await socket.start();
  try {
    await supabaseDbPush(
      `postgresql://postgres@${socket.getServerConn()}/postgres?sslmode=disable`,
      { seed: options.seed ?? true },
    );
  } finally {
    await socket.stop();
  }
  return db;
}

/** A migrated database as a data-directory archive: loading it is several times faster than
 * migrating again. */
export async function dumpPglite(db: PGlite): Promise<Uint8Array<ArrayBuffer>> {
  const blob = await db.dumpDataDir("none");
  return new Uint8Array(await blob.arrayBuffer());
}

/** A new, independent PGlite holding what the archive holds. */
export function pgliteFromDump(dump: Uint8Array<ArrayBuffer>): Promise<PGlite> {
  return PGlite.create({ loadDataDir: new Blob([dump]) });
}
