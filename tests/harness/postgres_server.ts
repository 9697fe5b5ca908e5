import postgres from "postgres";
import { runOrThrow } from "../../local/command.ts";
import { supabaseDbPush } from "../../local/supabase_cli.ts";
import { freePort } from "./net.ts";

/** A throwaway PostgreSQL 15 server: temporary data directory, free port, started as the
 * `postgres` user when we are root (Postgres refuses to run as root), migrations and seed
 * applied by the real Supabase CLI. */
export interface PgServer {
  /** Superuser URL (the table owner: fixtures, digests). */
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  /** For the process's unload event, where nothing can be awaited. */
  destroySync(): void;
}

const REPO = new URL("../../", import.meta.url);

// Debian's postgresql-15 puts initdb and pg_ctl here, off PATH; the machine image links them.
const PG_BIN = "/usr/lib/postgresql/15/bin";
try {
  if (Deno.statSync(`${PG_BIN}/initdb`).isFile) {
    Deno.env.set("PATH", `${Deno.env.get("PATH")}:${PG_BIN}`);
  }
} catch { /* not installed there */ }

/** Postgres refuses to run as root: as root, run its tools as the `postgres` user. */
function asPostgres(cmd: string[]): string[] {
  return Deno.uid() === 0 ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
}

/** Why a real Postgres cannot be started here, or null when it can. */
export function postgresUnavailableReason(): string | null {
  for (const bin of ["initdb", "pg_ctl"]) {
    const found = new Deno.Command("sh", { args: ["-c", `command -v ${bin}`], stdout: "null" })
      .outputSync().success;
    if (!found) return `${bin} is not on PATH (install postgresql-15)`;
  }
  return null;
}

export async function startPostgres(): Promise<PgServer> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-pg-" });
  if (Deno.uid() === 0) {
    const ids = new Deno.Command("id", { args: ["-u", "postgres"], stdout: "piped" }).outputSync();
    const uid = Number(new TextDecoder().decode(ids.stdout).trim());
    await Deno.chown(dir, uid, null);
  }
  const data = `${dir}/data`;
  const port = freePort();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  await runOrThrow(
    asPostgres(["initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
  );
  const start = () =>
    runOrThrow(asPostgres([
      "pg_ctl",
      "-D",
      data,
      "-l",
      `${dir}/server.log`,
      "-w",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
      "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
      "start",
    ]));
  const stopArgv = asPostgres(["pg_ctl", "-D", data, "-m", "fast", "-w", "stop"]);
  const stop = () => runOrThrow(stopArgv);
  await start();

  // The Supabase roles must exist before the migrations grant to them.
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(await Deno.readTextFile(new URL("supabase/roles.sql", REPO)));
  } finally {
    await admin.end();
  }
  await supabaseDbPush(url, { seed: true });

  return {
    url,
    port,
    stop,
    start,
    destroy: async () => {
      await stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
    destroySync: () => {
      new Deno.Command(stopArgv[0], { args: stopArgv.slice(1), stdout: "null", stderr: "null" })
        .outputSync();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}
