import { createApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { createSupabaseDb } from "./db/supabase.ts";

// Built once per isolate and reused by every request it serves.
const { supabaseUrl, serviceKey } = readConfig((name) => Deno.env.get(name));
const app = createApp({ db: createSupabaseDb({ url: supabaseUrl, serviceKey }) });

Deno.serve(app.fetch);
