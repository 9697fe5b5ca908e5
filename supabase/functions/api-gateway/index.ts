import { createApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { createSupabaseDb } from "./db/supabase.ts";

// Built once per isolate and reused by every request it serves.
const config = readConfig((name) => Deno.env.get(name));
const app = createApp({
  db: createSupabaseDb({ url: config.supabaseUrl, serviceKey: config.serviceKey }),
  webhooks: {
    dispatchSecret: config.webhookDispatchSecret,
    secretsKeys: config.webhookSecretsKeys,
  },
});

Deno.serve(app.fetch);
