/**
 * The retention migration schedules purge_api_usage with pg_cron where it can, and migrates anyway
 * where it cannot (supabase/migrations/20261127000600_purge_api_usage.sql). Both ways, on real
 * Postgres 15 with the real Supabase CLI:
 *   - the run's shared server has no pg_cron loaded: its migrated database has no job and no
 *     extension, purge_api_usage works, and the guard says why in a notice;
 *   - a server started with shared_preload_libraries=pg_cron: a fresh database named as
 *     cron.database_name, migrated by `supabase db push`, has the job.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { pgClient } from "../../local/postgres.ts";
import {
  applyRolesAndMigrations,
  goldenDataDir,
  startServerFrom,
} from "../../local/postgres_server.ts";
import { clonePostgres, postgresSkip, targetTestOptions } from "../harness/targets.ts";

const REPO = new URL("../../", import.meta.url);
const RETENTION_MIGRATION = new URL(
  "supabase/migrations/20261127000600_purge_api_usage.sql",
  REPO,
);
const JOB = {
  jobname: "purge-api-usage",
  schedule: "17 0 * * *",
  command: "select public.purge_api_usage()",
};

/** Why pg_cron cannot be loaded into the Postgres the harness starts, or null when it can. */
function pgCronUnavailableReason(): string | null {
  if (postgresSkip) return postgresSkip;
  const text = (argv: string[]) =>
    new TextDecoder().decode(
      new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped" }).outputSync().stdout,
    ).trim();
  let files: string[];
  try {
    // The pg_config next to the pg_ctl the harness runs (links resolved): the same installation.
    const bin = Deno.realPathSync(text(["sh", "-c", "command -v pg_ctl"])).replace(/\/[^/]+$/, "");
    files = [
      `${text([`${bin}/pg_config`, "--sharedir"])}/extension/pg_cron.control`,
      `${text([`${bin}/pg_config`, "--pkglibdir"])}/pg_cron.so`,
    ];
  } catch (e) {
    return `the Postgres installation's extension directories are unknown (${e})`;
  }
  for (const file of files) {
    try {
      Deno.statSync(file);
    } catch {
      return `${file} is missing (apt-get install postgresql-15-cron)`;
    }
  }
  return null;
}

const pgCronSkip = pgCronUnavailableReason();
if (pgCronSkip && !postgresSkip) {
  console.error(`\n!!! pg_cron scheduling test IGNORED: ${pgCronSkip} !!!\n`);
}

/** The migration's guarded DO block, to run it again and hear what it says. */
async function schedulingBlock(): Promise<string> {
  const sql = await Deno.readTextFile(RETENTION_MIGRATION);
  const block = sql.match(/^do \$\$\n[\s\S]*?\n\$\$;$/m)?.[0];
  assert.ok(block, "the retention migration has no `do $$ ... $$;` block");
  return block;
}

type Tx = postgres.TransactionSql;

/** Runs the scheduling block in a transaction, then `inspect` in it, and rolls it back; the
 * notices the block raised. */
async function runSchedulingBlock(
  url: string,
  inspect: (tx: Tx) => Promise<void> = async () => {},
): Promise<string[]> {
  const notices: string[] = [];
  const sql = pgClient(url, { max: 1, onnotice: (n) => notices.push(n.message) });
  try {
    const block = await schedulingBlock();
    await sql.begin(async (tx) => {
      await tx.unsafe(block);
      await inspect(tx);
      throw new Rollback();
    }).catch((e) => {
      if (!(e instanceof Rollback)) throw e;
    });
  } finally {
    await sql.end();
  }
  return notices;
}
class Rollback extends Error {}

async function jobs(sql: postgres.Sql | Tx) {
  const rows = await sql`
    select jobname, schedule, command, database, username, active from cron.job order by jobid`;
  return rows.map((j) => ({ ...j }));
}

Deno.test({
  name: "pg_cron: without pg_cron loaded the migrations apply and nothing is scheduled",
  ...targetTestOptions("postgres"),
}, async () => {
  const url = await clonePostgres();
  const sql = pgClient(url, { max: 1, onnotice: () => {} });
  try {
    const [{ preload }] = await sql`select current_setting('shared_preload_libraries') as preload`;
    assert.doesNotMatch(preload, /pg_cron/, "the shared server must run without pg_cron");

    const [state] = await sql`
      select exists (select 1 from pg_extension where extname = 'pg_cron') as extension,
             exists (select 1 from pg_namespace where nspname = 'cron') as cron_schema,
             exists (select 1 from pg_available_extensions where name = 'pg_cron') as installed,
             exists (select 1 from supabase_migrations.schema_migrations
                     where version = '20261127000600') as migrated`;
    assert.deepEqual(
      { extension: state.extension, cron_schema: state.cron_schema, migrated: state.migrated },
      { extension: false, cron_schema: false, migrated: true },
    );

    // The function the job would call is there and works for the API role.
    const [{ deleted }] = await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return await tx`select public.purge_api_usage() as deleted`;
    });
    assert.equal(deleted, 0);

    // The guard's two ways out, depending on whether pg_cron is installed at all.
    const notices = await runSchedulingBlock(url, async (tx) => {
      const [{ extension }] = await tx`
        select exists (select 1 from pg_extension where extname = 'pg_cron') as extension`;
      assert.equal(extension, false, "the guard must leave no half-created extension");
    });
    assert.equal(notices.length, 1, `one notice expected, got ${JSON.stringify(notices)}`);
    assert.match(
      notices[0],
      state.installed
        ? /^pg_cron could not be used \(.+\): schedule "select public\.purge_api_usage\(\)" daily yourself$/
        : /^pg_cron is not available: schedule "select public\.purge_api_usage\(\)" daily yourself$/,
    );
  } finally {
    await sql.end();
  }
});

/** The webhook jobs: the history's retention daily, and the dispatcher every 10 seconds where
 * pg_cron takes seconds (1.5 and later), else every minute. */
const WEBHOOK_JOBS = (secondsSupported: boolean) => [
  {
    jobname: "purge-webhook-history",
    schedule: "27 0 * * *",
    command: "select public.purge_webhook_history()",
  },
  {
    jobname: "dispatch-webhooks",
    schedule: secondsSupported ? "10 seconds" : "* * * * *",
    command: "select internal.request_webhook_dispatch()",
  },
];

Deno.test({
  name:
    "pg_cron: with pg_cron preloaded `supabase db push` schedules the retention and dispatch jobs",
  ...targetTestOptions("postgres"),
  ignore: pgCronSkip !== null,
}, async () => {
  const database = "gateway_cron";
  const server = await startServerFrom(await goldenDataDir(), {
    settings: { shared_preload_libraries: "pg_cron", "cron.database_name": database },
  });
  try {
    const admin = pgClient(server.url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database ${database}`);
    } finally {
      await admin.end();
    }
    const url = new URL(server.url);
    url.pathname = `/${database}`;
    // As buildGolden does it, without the seed (as in production).
    await applyRolesAndMigrations(url.toString(), { seed: false });
    const owner = pgClient(url.toString(), { max: 1, onnotice: () => {} });
    try {
      const [{ version }] = await owner`
        select extversion as version from pg_extension where extname = 'pg_cron'`;
      const [major, minor] = String(version).split(".").map(Number);
      const secondsSupported = major > 1 || (major === 1 && minor >= 5);
      const expected = [JOB, ...WEBHOOK_JOBS(secondsSupported)]
        .map((j) => ({ ...j, database, username: "postgres", active: true }));
      assert.deepEqual(await jobs(owner), expected);
      console.log(`  pg_cron ${version}: dispatch-webhooks every ${expected[2].schedule}`);

      // What the dispatch job runs: nothing due, nothing asked; a due delivery on a database
      // without pg_net (as here) is answered, not an error.
      const [{ idle }] = await owner`select internal.request_webhook_dispatch() as idle`;
      assert.equal(idle, "idle");
      await owner.begin(async (tx) => {
        const [{ id: org }] = await tx`insert into public.orgs (name) values ('cron') returning id`;
        const [{ id: endpoint }] = await tx`
          insert into public.webhook_endpoints (org_id, url, events, secret)
          values (${org}, 'https://hooks.example.com/x', '{company.contacts_linked}',
                  ${"whenc_v1.t." + "A".repeat(64)}) returning id`;
        const [{ id: event }] = await tx`
          insert into public.webhook_events (org_id, type, body)
          values (${org}, 'company.contacts_linked', '{}') returning id`;
        await tx`
          insert into public.webhook_deliveries (org_id, event_id, endpoint_id)
          values (${org}, ${event}, ${endpoint})`;
        const [{ answer }] = await tx`select internal.request_webhook_dispatch() as answer`;
        assert.equal(answer, "no pg_net");
        throw new Rollback();
      }).catch((e) => {
        if (!(e instanceof Rollback)) throw e;
      });
      const [{ purged }] = await owner`select public.purge_webhook_history() as purged`;
      assert.equal(purged, 0);
      const [ext] = await owner`
        select extnamespace::regnamespace::text as schema from pg_extension
        where extname = 'pg_cron'`;
      assert.equal(ext?.schema, "pg_catalog");

      // What the job will run, as the job's user.
      const [{ deleted }] = await owner.unsafe(`${JOB.command} as deleted`);
      assert.equal(deleted, 0);

      // The block run again (a database migrated twice) keeps one job: cron.schedule replaces it
      // by name.
      const notices = await runSchedulingBlock(url.toString(), async (tx) => {
        assert.deepEqual((await jobs(tx)).slice(0, 1), expected.slice(0, 1));
      });
      assert.deepEqual(notices.filter((n) => /daily yourself/.test(n)), [], "the guard fell back");
    } finally {
      await owner.end();
    }
  } finally {
    await server.destroy();
  }
});
