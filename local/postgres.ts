import postgres from "postgres";

export interface ConnectOptions {
  /** Role the gateway's statements run as; null keeps the login role. */
  role?: string | null;
  max?: number;
}

/** A postgres.js pool with bounded waits, so an unreachable database answers 503 promptly
 * instead of hanging a request. */
export function connectPostgres(url: string, options: ConnectOptions = {}): postgres.Sql {
  const role = options.role === undefined ? "service_role" : options.role;
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: 3,
    idle_timeout: 30,
    prepare: true,
    onnotice: () => {},
    connection: {
      statement_timeout: 5_000,
      lock_timeout: 5_000,
      ...(role ? { role } : {}),
    },
  });
}
