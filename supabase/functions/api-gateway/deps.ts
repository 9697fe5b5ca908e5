import type { ApiKeyContext, GatewayDb } from "./db/port.ts";
import type { Logger } from "./errors.ts";

/** What the app is built from. Injected, never global, so tests choose the database. */
export interface AppDeps {
  db: GatewayDb;
  /** One JSON object per call; defaults to a JSON line on stdout. */
  log?: Logger;
  /** Runs work after the response (EdgeRuntime.waitUntil where the runtime has it). */
  defer?: (task: Promise<unknown>) => void;
}

export type ResolvedDeps = Required<AppDeps>;

export type AppEnv = {
  Variables: {
    requestId: string;
    deps: ResolvedDeps;
    apiKey: ApiKeyContext;
  };
};
