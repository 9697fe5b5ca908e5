/**
 * The dev server's database kept on disk (`deno task dev --data-dir <dir>`). PGlite is
 * single-process: two processes must never open one data directory. So the dev server that opens
 * it holds an OS lock on `<dir>/lock` (released by the OS if that process dies), and a second one
 * is refused. Everyone else reaches the database through the URL the dev server prints
 * (local/pglite_socket.ts).
 * Layout: `<dir>/pgdata` (PGlite's data directory), `<dir>/lock`.
 */

export const pgdataOf = (dir: string) => `${dir}/pgdata`;
const lockOf = (dir: string) => `${dir}/lock`;

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
