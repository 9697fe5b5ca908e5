/**
 * The dev server's database kept on disk (`deno task dev --data-dir <dir>`). PGlite is
 * single-process: two processes must never open one data directory. So the dev server that opens
 * it holds an OS lock on `<dir>/lock` (released by the OS if that process dies), and a second one
 * is refused. Everyone else reaches the database through the URL the dev server prints
 * (local/pglite_socket.ts).
 * Layout: `<dir>/pgdata` (PGlite's data directory), `<dir>/lock`, `<dir>/webhook_secrets_keys`
 * (the WEBHOOK_SECRETS_KEYS the directory's webhook secrets are encrypted under, mode 0600).
 */
import { newKeyEntry } from "../supabase/functions/api-gateway/webhooks/secret_keys.ts";

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

export const secretsKeysFileOf = (dir: string) => `${dir}/webhook_secrets_keys`;

/** The directory's WEBHOOK_SECRETS_KEYS: made on its first start, kept beside the database it
 * belongs to (a data directory copied elsewhere keeps working) and readable by its owner alone.
 * To rotate it, put a new entry first in the file, restart, and run `task secrets reencrypt`. */
export async function dataDirSecretsKeys(dir: string): Promise<string> {
  const file = secretsKeysFileOf(dir);
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const keys = newKeyEntry(`dev-${crypto.randomUUID().slice(0, 8)}`);
  // createNew: of two first starts (the lock makes that impossible, but cheaply), one key wins.
  await Deno.writeTextFile(file, `${keys}\n`, { mode: 0o600, createNew: true });
  return keys;
}
