-- Demo data for local development. Fixed ids so the README's examples work as written.
-- No API key here: `deno task dev` mints a fresh one at start and prints it once.
insert into public.orgs (id, name, plan) values
  ('0a000000-0000-4000-8000-000000000001', 'Acme Demo Workspace', 'pro'),
  ('0b000000-0000-4000-8000-000000000002', 'Other Workspace', 'starter')
on conflict (id) do nothing;

insert into public.companies (id, org_id, name, domain) values
  ('c0000000-0000-4000-8000-000000000001', '0a000000-0000-4000-8000-000000000001', 'Globex', 'globex.example'),
  ('c0000000-0000-4000-8000-000000000002', '0a000000-0000-4000-8000-000000000001', 'Initech', 'initech.example'),
  ('cb000000-0000-4000-8000-000000000001', '0b000000-0000-4000-8000-000000000002', 'Umbrella', 'umbrella.example')
on conflict (id) do nothing;

insert into public.contacts (id, org_id, company_id, full_name, email) values
  ('a0000000-0000-4000-8000-000000000001', '0a000000-0000-4000-8000-000000000001', null, 'Ada Lovelace', 'ada@example.com'),
  ('a0000000-0000-4000-8000-000000000002', '0a000000-0000-4000-8000-000000000001', null, 'Alan Turing', 'alan@example.com'),
  ('a0000000-0000-4000-8000-000000000003', '0a000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 'Grace Hopper', 'grace@example.com'),
  ('a0000000-0000-4000-8000-000000000004', '0a000000-0000-4000-8000-000000000001', null, 'Edsger Dijkstra', 'edsger@example.com'),
  ('ab000000-0000-4000-8000-000000000001', '0b000000-0000-4000-8000-000000000002', null, 'Other Org Contact', 'someone@umbrella.example')
on conflict (id) do nothing;
