/** The pgbench scripts of the floor (one statement, one transaction each). The batch is looked
 * up by primary key inside the same statement, so each transaction is one round trip like the
 * gateway's call; the lookup costs the same in both variants. */
import { COMPANY_ID, CONTACT_ID, ORG_ID } from "./dataset.ts";

/** The link function `fn`, exactly as the gateway calls it, on the batches of `table`.
 * Variables: size, batches. */
export const linkScript = (fn = "public.link_contacts_to_company", table = "bench.batches") =>
  `\\set n random(1, :batches)
select ${fn}(p_key_hash => b.key_hash, p_company_id => b.company_id,
  p_contact_ids => b.contact_ids)
from ${table} b where b.size = :size and b.n = :n;
`;
export const FUNCTION_SCRIPT = linkScript();

/** The link function on the batches of bench.batches, each sent to one of its org's companies
 * drawn at random (not the batch's own), so that a batch drawn again still moves its contacts.
 * The company is looked up by the org's (org_id, id) index, in both variants a ratio compares.
 * Variables: size, batches. */
export const linkToAnyCompanyScript = (s: { companiesPerOrg: number }) =>
  `\\set n random(1, :batches)
\\set j random(0, ${s.companiesPerOrg - 1})
select public.link_contacts_to_company(p_key_hash => b.key_hash,
  p_company_id => (select c.id from public.companies c where c.org_id = b.org_id
                   order by c.id offset :j limit 1),
  p_contact_ids => b.contact_ids)
from bench.batches b where b.size = :size and b.n = :n;
`;

/** The least SQL that does the job: no key, no limiter, no counts. Variables: size, batches. */
export const leastSqlScript = (table = "bench.batches") =>
  `\\set n random(1, :batches)
update public.contacts c set company_id = b.company_id, updated_at = now()
from ${table} b
where b.size = :size and b.n = :n and c.org_id = b.org_id and c.id = any (b.contact_ids);
`;
export const LEAST_SQL_SCRIPT = leastSqlScript();

/** A client without the endpoint: one contact per UPDATE, one transaction each; ids computed
 * from random numbers (no lookup). Variables: orgs, contacts, companies. */
export const NAIVE_SCRIPT = `\\set n random(1, :orgs)
\\set i random(1, :contacts)
\\set j random(1, :companies)
update public.contacts set company_id = ${COMPANY_ID(":n", ":j")}, updated_at = now()
where org_id = ${ORG_ID(":n")} and id = ${CONTACT_ID(":n", ":i")};
`;
