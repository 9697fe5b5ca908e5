/**
 * The dev server's webhook dispatcher: every second, unless one is still running, the pool of
 * webhooks/dispatch.ts until nothing is due (or 30 s of claiming), whatever the database. The pool
 * claims as its sends finish, so a slow receiver (up to 10 s) holds only its own slots.
 */
import type { Logger } from "../supabase/functions/api-gateway/context.ts";
import type { GatewayDb } from "../supabase/functions/api-gateway/db/port.ts";
import { dispatchUntilIdle } from "../supabase/functions/api-gateway/webhooks/dispatch.ts";
import type { UrlPolicy } from "../supabase/functions/api-gateway/webhooks/url_policy.ts";
import type { SecretKeyring } from "../supabase/functions/api-gateway/webhooks/secret_keys.ts";

export function startDispatcher(options: {
  db: GatewayDb;
  urlPolicy: UrlPolicy;
  secretKeyring: () => Promise<SecretKeyring>;
  log: Logger;
  everyMs?: number;
}): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const round = () => {
    if (running) return;
    running = dispatchUntilIdle(
      {
        db: options.db,
        urlPolicy: options.urlPolicy,
        secretKeyring: options.secretKeyring,
        log: options.log,
      },
      30_000,
    )
      .then(() => {}, (err) => {
        // The database is down or restarting: the next second tries again.
        options.log({
          level: "warn",
          msg: "webhook dispatch failed",
          error: (err as Error)?.name ?? String(err),
        });
      })
      .finally(() => running = undefined);
  };
  const timer = setInterval(round, options.everyMs ?? 1_000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
