import { createApp } from "../../supabase/functions/api-gateway/app.ts";
import type { WebhookDeps } from "../../supabase/functions/api-gateway/context.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";
import { refusingFetch, testResolver } from "./resolver.ts";
import { TEST_SECRETS_KEYS } from "./secrets.ts";

export interface BuildOptions {
  /** The app's clock (what the database takes as now); default: the database's own. */
  clock?: () => Date;
  /** Webhooks: by default URLs resolve by testResolver (no DNS query leaves the machine) and no
   * webhook can be sent. The secrets' keys are the tests' (TEST_SECRETS_KEYS) unless these name
   * their own (`secretsKeys: undefined`: a deploy without the key). */
  webhooks?: WebhookDeps;
}

/** The real app on a chosen database, with its log lines and its database calls recorded. */
export function buildApp(db: GatewayDb, options: BuildOptions = {}) {
  const logs: string[] = [];
  const calls: { fn: string; args: Record<string, unknown> }[] = [];
  const counted: GatewayDb = {
    call(fn, args) {
      calls.push({ fn, args });
      return db.call(fn, args);
    },
  };
  const app = createApp({
    db: counted,
    log: (entry) => logs.push(JSON.stringify(entry)),
    clock: options.clock,
    webhooks: {
      secretsKeys: TEST_SECRETS_KEYS,
      ...(options.webhooks ?? { urlPolicy: { resolve: testResolver }, fetch: refusingFetch }),
    },
  });
  return { app, logs, calls };
}

/** A clock tests move by hand. */
export function manualClock(start: Date | string) {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    set: (at: Date | string) => void (now = new Date(at).getTime()),
    advance: (ms: number) => void (now += ms),
  };
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
