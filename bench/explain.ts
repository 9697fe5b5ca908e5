/** The plans of the link function's own statements, as it runs them: auto_explain with
 * log_nested_statements on one session, its log lines sent to the client. One call, as the
 * gateway makes it (role service_role), on a batch of the biggest size. */
import { pgClient } from "../local/postgres.ts";

export async function explainLink(url: string, size: number): Promise<string[]> {
  const plans: string[] = [];
  const sql = pgClient(url, {
    max: 1,
    onnotice: (n) => {
      if (typeof n.message === "string" && n.message.includes("Query Text")) {
        plans.push(shortenArrays(n.message));
      }
    },
  });
  try {
    await sql.unsafe(`
      load 'auto_explain';
      set auto_explain.log_min_duration = 0;
      set auto_explain.log_analyze = on;
      set auto_explain.log_buffers = on;
      set auto_explain.log_timing = on;
      set auto_explain.log_nested_statements = on;
      set client_min_messages = log;
      set role service_role`);
    await sql.unsafe(`
      select public.link_contacts_to_company(p_key_hash => b.key_hash,
        p_company_id => b.company_id, p_contact_ids => b.contact_ids)
      from bench.batches b where b.size = ${size} and b.n = 1`);
  } finally {
    await sql.end();
  }
  return plans;
}

/** A batch's ids inlined in a plan are hundreds of characters of noise: keep their count. */
function shortenArrays(plan: string): string {
  return plan.replace(/'\{([0-9a-f-]{36},?)+\}'/g, (ids) => `'{${ids.split(",").length} ids}'`);
}
