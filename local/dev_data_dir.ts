/**
 * The dev server's database kept on disk (`deno task dev --data-dir <dir>`), and how
 * `deno task keys --data-dir <dir>` reaches it. PGlite is single-process: two processes must
 * never open one data directory. So whoever opens it first holds an OS lock on `<dir>/lock`
 * (released by the OS if that process dies), and:
 *   - `keys` takes the lock when nobody holds it and opens the database itself, for the second
 *     its work takes;
 *   - while a dev server holds it, `keys` sends its statements to the dev server instead, over a
 *     loopback HTTP channel (`<dir>/admin.json` names its URL and a random token; mode 0600, so
 *     only who can read the data directory can use it, as only they could open the database).
 * Layout: `<dir>/pgdata` (PGlite's data directory), `<dir>/lock`, `<dir>/admin.json`.
 */
import { TASK } from "./task_command.ts";
import { KeyError } from "./api_keys.ts";
import { exists, openPgliteDir } from "./pglite.ts";
import { pgliteQuery, type Query } from "./sql_db.ts";

export const pgdataOf = (dir: string) => `${dir}/pgdata`;
const lockOf = (dir: string) => `${dir}/lock`;
const adminOf = (dir: string) => `${dir}/admin.json`;

interface AdminFile {
  url: string;
  token: string;
  pid: number;
}

/** Takes `<dir>`'s lock without waiting; null when another process holds it. */
export async function holdDataDir(dir: string): Promise<{ release(): void } | null> {
  await Deno.mkdir(dir, { recursive: true });
  const file = await Deno.open(lockOf(dir), { create: true, write: true });
  if (!(await file.tryLock(true))) {
    file.close();
    return null;
  }
  return { release: () => file.close() };
}

/** Serves `owner` to `deno task keys` on a loopback port until closed. Call with the lock held. */
export async function serveAdmin(dir: string, owner: Query): Promise<{ close(): Promise<void> }> {
  const token = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const expected = new TextEncoder().encode(`Bearer ${token}`);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const given = new TextEncoder().encode(req.headers.get("authorization") ?? "");
    if (!sameBytes(given, expected)) return new Response(null, { status: 401 });
    if (req.method !== "POST") return new Response(null, { status: 405 });
    try {
      const { text, params } = await req.json();
      return Response.json({
        rows: await owner(String(text), Array.isArray(params) ? params : []),
      });
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      return Response.json(
        { error: { code: e?.code ?? null, message: String(e?.message ?? err) } },
        {
          status: 400,
        },
      );
    }
  });
  const file: AdminFile = {
    url: `http://127.0.0.1:${server.addr.port}`,
    token,
    pid: Deno.pid,
  };
  const partial = `${adminOf(dir)}.${Deno.pid}`;
  await Deno.writeTextFile(partial, JSON.stringify(file), { mode: 0o600 });
  await Deno.rename(partial, adminOf(dir));
  return {
    close: async () => {
      await Deno.remove(adminOf(dir)).catch(() => {});
      await server.shutdown();
    },
  };
}

/** A stale admin.json (from a dev server that was killed) must not be trusted: the holder removes
 * it before anything else. */
export const forgetAdmin = (dir: string) => Deno.remove(adminOf(dir)).catch(() => {});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}

/** Owner access to the dev database in `dir`: opened directly when no process holds it, else
 * through the dev server that does (waiting up to `waitMs` for one that is still starting). */
export async function connectDataDir(
  dir: string,
  options: { waitMs?: number } = {},
): Promise<{ query: Query; close(): Promise<void>; via: string }> {
  if (!(await exists(`${pgdataOf(dir)}/PG_VERSION`))) {
    throw new KeyError(
      `no dev database in ${dir}: start one with \`${TASK} dev --data-dir ${dir}\``,
    );
  }
  const held = await holdDataDir(dir);
  if (held) {
    await forgetAdmin(dir);
    try {
      const pg = await openPgliteDir(pgdataOf(dir));
      return {
        query: pgliteQuery(pg, null),
        close: async () => {
          await pg.close();
          held.release();
        },
        via: `${dir} (opened directly: no dev server holds it)`,
      };
    } catch (err) {
      held.release();
      throw err;
    }
  }
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  for (;;) {
    const admin = await readAdmin(dir);
    if (admin) {
      return { query: remoteQuery(admin), close: () => Promise.resolve(), via: `the dev server` };
    }
    if (Date.now() > deadline) {
      throw new KeyError(`${dir} is held by another process that offers no admin channel`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readAdmin(dir: string): Promise<AdminFile | null> {
  try {
    const file = JSON.parse(await Deno.readTextFile(adminOf(dir))) as AdminFile;
    return typeof file.url === "string" && typeof file.token === "string" ? file : null;
  } catch {
    return null;
  }
}

function remoteQuery(admin: AdminFile): Query {
  return async <T>(text: string, params: unknown[]) => {
    const res = await fetch(admin.url, {
      method: "POST",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
      body: JSON.stringify({ text, params }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw Object.assign(
        new Error(body.error?.message ?? `the dev server's admin channel answered ${res.status}`),
        { code: body.error?.code ?? undefined },
      );
    }
    return body.rows as T[];
  };
}
