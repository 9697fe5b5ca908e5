// A dispatcher in a process of its own, for the test that kills one mid-delivery:
//   deno run -A tests/harness/dispatcher_process.ts <postgres url>
// One round, leased for 30 s, sending only to loopback (anything else is refused), with a
// receiver's timeout long enough that the test always kills it first.
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, postgresJsQuery } from "../../local/sql_db.ts";
import { dispatchDue } from "../../supabase/functions/api-gateway/webhooks/dispatch.ts";
import { LOCAL_POLICY, loopbackFetch } from "./dispatching.ts";
import { testSecretKeyring } from "./secrets.ts";

const sql = connectPostgres(Deno.args[0], { max: 2 });
const report = await dispatchDue({
  db: createSqlDb(postgresJsQuery(sql)),
  urlPolicy: LOCAL_POLICY,
  secretKeyring: testSecretKeyring,
  fetch: loopbackFetch().fetch,
  leaseSeconds: 30,
  timeoutMs: 120_000,
});
console.log(JSON.stringify(report));
await sql.end();
