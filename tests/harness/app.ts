import { createApp } from "../../supabase/functions/api-gateway/app.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";

/** The real app on a chosen database, with its log lines and deferred work captured. */
export function buildApp(db: GatewayDb) {
  const logs: string[] = [];
  const deferred: Promise<unknown>[] = [];
  const app = createApp({
    db,
    log: (entry) => logs.push(JSON.stringify(entry)),
    defer: (task) => deferred.push(task),
  });
  return { app, logs, settle: () => Promise.all(deferred.splice(0)) };
}

/** Fails naming the first secret found in any of the texts (response bodies, log lines). */
export function assertNoSecrets(texts: string[], secrets: string[]) {
  for (const secret of secrets) {
    if (!secret) continue;
    const hit = texts.find((t) => t.includes(secret));
    if (hit !== undefined) {
      throw new Error(`a secret (${secret.slice(0, 8)}...) leaked into: ${hit.slice(0, 200)}`);
    }
  }
}
