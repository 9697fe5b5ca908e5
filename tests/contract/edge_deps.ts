// Loads every package the deployed function loads, at start (index.ts's imports) and at its first
// database call (the PostgREST client), without serving or calling anything. Run before the
// function boots: a package that cannot be fetched fails here in that Deno's own words (a
// certificate it does not trust, say), where the function's import at request time would answer
// 500 and log only ERR_MODULE_NOT_FOUND.
import "../../supabase/functions/api-gateway/app.ts";
import "../../supabase/functions/api-gateway/config.ts";
import { createSupabaseClient } from "../../supabase/functions/api-gateway/db/supabase.ts";

await createSupabaseClient({ url: "http://127.0.0.1:9", serviceKey: "edge-deps" });
