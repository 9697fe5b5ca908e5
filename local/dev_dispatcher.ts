/**
 * The dev server's webhook dispatcher: every second (webhooks/dispatch.ts), whatever the
 * database, rounds until nothing is due. Rounds overlap when a receiver is slow (a delivery waits
 * up to 10 s): the claim's lease keeps two rounds off one delivery, and at most MAX_ROUNDS run at
 * once.
 */
import type { Logger } from "../supabase/functions/api-gateway/context.ts";
import type { GatewayDb } from "../supabase/functions/api-gateway/db/port.ts";
import { dispatchUntilIdle } from "../supabase/functions/api-gateway/webhooks/dispatch.ts";
import type { UrlPolicy } from "../supabase/functions/api-gateway/webhooks/url_policy.ts";
import type { SecretKeyring } from "../supabase/functions/api-gateway/webhooks/secret_keys.ts";

const MAX_ROUNDS = 4;

export function startDispatcher(options: {
  db: GatewayDb;
  urlPolicy: UrlPolicy;
  secretKeyring: () => Promise<SecretKeyring>;
  log: Logger;
  everyMs?: number;
}): { stop(): Promise<void> } {
  const running = new Set<Promise<void>>();
  const round = () => {
    if (running.size >= MAX_ROUNDS) return;
    const work = dispatchUntilIdle(
      {
        db: options.db,
        urlPolicy: options.urlPolicy,
        secretKeyring: options.secretKeyring,
        log: options.log,
      },
      30_000,
    )
      .then(() => {}, (err) => {
        // The database is down or restarting: the next round tries again.
        options.log({
          level: "warn",
          msg: "webhook dispatch round failed",
          error: (err as Error)?.name ?? String(err),
        });
      })
      .finally(() => running.delete(work));
    running.add(work);
  };
  const timer = setInterval(round, options.everyMs ?? 1_000);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(running);
    },
  };
}
