/**
 * The dev server's demo key: every permission (admin:api_keys included, so the README's "Try it"
 * mints a second key over the API), for the seed's demo org, so each endpoint can be tried with
 * the one key the banner shows. Minted as the keys CLI mints (issueKey). It lives only while the dev server that minted it runs:
 *   - revoked at a clean stop (every mode);
 *   - its expiry is LIFETIME ahead, renewed every RENEW_EVERY while the server runs: a crash
 *     (SIGKILL, a power cut) leaves a key that dies within LIFETIME, in a shared DATABASE_URL too;
 *   - with embedded PGlite the database is this process's alone (the data directory's lock), so
 *     earlier demo keys still live are revoked at start: after a crash, a --data-dir holds only the
 *     new one. Not with DATABASE_URL: another dev server may be using that database, and its demo
 *     key is its own.
 * A demo key is known by its name: NAME and the time it was minted.
 */
import { issueKey, revokeKey } from "./api_keys.ts";
import { demoOrgId } from "./seed.ts";
import type { Query } from "./sql_db.ts";
import { PERMISSIONS } from "../supabase/functions/api-gateway/permissions.ts";

export const NAME = "deno task dev";
export const LIFETIME_MINUTES = 15;
/** How often a running dev server pushes its key's expiry LIFETIME ahead again. */
export const RENEW_EVERY_MS = 5 * 60_000;

export interface DemoKey {
  orgId: string;
  orgName: string;
  /** The org's first company and contacts (by id), for the banner's curl. */
  companyId: string | null;
  contactIds: string[];
  id: string;
  plaintext: string;
  /** Moves the expiry LIFETIME ahead (unless the key was revoked meanwhile). `owner` as for
   * mintDemoKey: the dev server's changes once its database is shared. */
  renew(owner: Query): Promise<void>;
  revoke(owner: Query): Promise<void>;
}

/** Mints the demo key, or returns null when the seed's demo org is not in this database.
 * `owner` runs with table-owner rights. */
export async function mintDemoKey(
  owner: Query,
  options: { revokeEarlier: boolean },
): Promise<DemoKey | null> {
  const orgId = await demoOrgId();
  if (!orgId) return null;
  const [org] = await owner<{ name: string; company_id: string | null; contact_ids: string[] }>(
    `select o.name,
            (select c.id from public.companies c where c.org_id = o.id order by c.id limit 1)
              as company_id,
            array(select ct.id from public.contacts ct where ct.org_id = o.id
                  order by ct.id limit 2) as contact_ids
     from public.orgs o where o.id = $1`,
    [orgId],
  );
  if (!org) return null;
  if (options.revokeEarlier) {
    await owner(
      `update public.api_keys set revoked_at = now()
       where org_id = $1 and name like $2 || ' %'
         and (revoked_at is null or revoked_at > now())`,
      [orgId, NAME],
    );
  }
  const key = await issueKey(owner, {
    orgId,
    name: `${NAME} ${new Date().toISOString()}`,
    permissions: [...PERMISSIONS],
    expiresAt: new Date(Date.now() + LIFETIME_MINUTES * 60_000),
  });
  return {
    orgId,
    orgName: org.name,
    companyId: org.company_id,
    contactIds: org.contact_ids,
    id: key.id,
    plaintext: key.plaintext,
    renew: async (owner) => {
      await owner(
        `update public.api_keys set expires_at = now() + make_interval(mins => $2)
         where id = $1 and revoked_at is null`,
        [key.id, LIFETIME_MINUTES],
      );
    },
    revoke: async (owner) => {
      await revokeKey(owner, key.id);
    },
  };
}
