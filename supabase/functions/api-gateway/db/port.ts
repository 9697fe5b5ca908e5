/** What the gateway needs from the database. Adapters: ./supabase.ts (deployed) and
 * local/sql_db.ts (dev, tests, benchmarks). Both throw ApiError 503 when the database
 * cannot be reached. */
export interface GatewayDb {
  /** The active (not revoked, not expired) key with this SHA-256 hex hash, or null. */
  authenticate(keyHash: string): Promise<ApiKeyContext | null>;
  /** Records a use of the key; the database keeps it to at most one write a minute. */
  touchApiKey(keyId: string): Promise<void>;
  /** null when the company is not one of the org's. */
  linkContacts(orgId: string, companyId: string, contactIds: string[]): Promise<LinkResult | null>;
}

export interface ApiKeyContext {
  orgId: string;
  keyId: string;
  permissions: string[];
  lastUsedAt: Date | null;
}

export interface LinkResult {
  updated: number;
  failed: number;
  failedIds: string[];
}

/** Rows as the SQL functions return them, shared by both adapters. */
export type AuthenticateRow = {
  org_id: string;
  key_id: string;
  permissions: string[] | null;
  last_used_at: string | Date | null;
};

export type LinkRow = {
  company_found: boolean;
  updated?: number;
  failed?: number;
  failed_ids?: string[];
};

// SQLSTATEs that mean "the database is not there right now", whichever adapter saw them:
// connection exceptions (08), shutdown and restart (57P01-57P03), too many connections,
// statement and lock timeouts.
const OUTAGE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300|57014|55P03)$/;

export function isOutageSqlstate(code: string): boolean {
  return OUTAGE_SQLSTATE.test(code);
}

export function toApiKeyContext(row: AuthenticateRow | undefined): ApiKeyContext | null {
  if (!row) return null;
  return {
    orgId: row.org_id,
    keyId: row.key_id,
    permissions: row.permissions ?? [],
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  };
}

export function toLinkResult(row: LinkRow | null | undefined): LinkResult | null {
  if (!row || !row.company_found) return null;
  return { updated: row.updated ?? 0, failed: row.failed ?? 0, failedIds: row.failed_ids ?? [] };
}
