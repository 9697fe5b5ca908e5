import { createApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { createSupabaseClient, createSupabaseDb } from "./db/supabase.ts";

// Built once per isolate and reused by every request it serves.
const { supabaseUrl, serviceKey } = readConfig((name) => Deno.env.get(name));
const client = createSupabaseClient({ url: supabaseUrl, serviceKey });
const app = createApp({ db: createSupabaseDb(client) });

Deno.serve(app.fetch);
