import { getTarget } from "./tests/harness/targets.ts";
import { createTenant } from "./tests/harness/fixtures.ts";
import { hashApiKey } from "./supabase/functions/api-gateway/kit/key.ts";
import { pgClient } from "./local/postgres.ts";
const target = await getTarget("postgres");
const t = await createTenant(target.owner, { companies: 1, contacts: 50 });
const kh = await hashApiKey(t.keys.write);
const sql = pgClient(target.url!, { max: 1, onnotice: () => {} });
const N = Number(Deno.env.get("N") ?? 1000);
const ids = t.contactIds.slice(0, 10);
const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
async function plain() {
  await sql`select public.link_contacts_to_company(p_key_hash => ${kh}, p_company_id => ${
    t.companyIds[0]
  }, p_contact_ids => ${ids}::uuid[]) as r`;
}
async function wrapped() {
  await sql`select public.api_idempotent_call(p_fn => 'link_contacts_to_company', p_args => ${
    sql.json({ p_company_id: t.companyIds[0], p_contact_ids: ids })
  }, p_key_hash => ${kh}, p_permission => 'contacts:write', p_idempotency_key_hash => ${
    hex(32)
  }, p_fingerprint => ${hex(32)}, p_answer_key => ${
    hex(64)
  }, p_method => 'post', p_path => '/v1/x') as r`;
}
const variant = Deno.env.get("VARIANT");
if (variant) await sql.unsafe(await Deno.readTextFile(variant));
async function stats() {
  await sql`select pg_stat_force_next_flush()`;
  await sql`select 1`;
  await new Promise((r) => setTimeout(r, 1200));
  const rows =
    await sql`select schemaname || '.' || funcname as f, calls, total_time, self_time from pg_stat_user_functions`;
  return Object.fromEntries(rows.map((r) => [r.f, r]));
}
await sql`set track_functions = 'all'`;
await sql`set role service_role`;
for (let i = 0; i < 300; i++) {
  await wrapped();
  await plain();
}
await sql`reset role`;
const s0 = await stats();
await sql`set role service_role`;
for (let i = 0; i < N; i++) {
  await wrapped();
  await plain();
}
await sql`reset role`;
const s1 = await stats();
const d = (f: string, k: string) => ((s1[f]?.[k] ?? 0) - (s0[f]?.[k] ?? 0)) / N * 1000;
const link = d("public.link_contacts_to_company", "total_time") / 2;
const wrap = d("public.api_idempotent_call", "total_time");
console.log(
  `link ${link.toFixed(0)} us; wrapper total ${wrap.toFixed(0)} us; overhead ${
    (wrap - link).toFixed(0)
  } us (${((wrap - link) / link * 100).toFixed(0)}%); call_endpoint self ${
    d("internal.call_endpoint", "self_time").toFixed(0)
  }; wrapper self ${d("public.api_idempotent_call", "self_time").toFixed(0)}`,
);
await sql.end();
Deno.exit(0);
