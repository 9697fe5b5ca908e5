import assert from "node:assert/strict";
import { getTarget, targetTestOptions } from "../harness/targets.ts";

const TEST_DIR = new URL("../../supabase/tests/database/", import.meta.url);
const hasPgProve = new Deno.Command("sh", { args: ["-c", "command -v pg_prove"], stdout: "null" })
  .outputSync().success;
if (!hasPgProve) {
  console.error(
    "\n!!! pgTAP suite IGNORED: pg_prove is not installed " +
      "(apt-get install postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl) !!!\n",
  );
}

Deno.test({
  name: "pgTAP: supabase/tests/database/*.test.sql via pg_prove on Postgres 15",
  ...targetTestOptions("postgres"),
  ignore: targetTestOptions("postgres").ignore || !hasPgProve,
}, async () => {
  // A clone of the migrated and seeded database, of its own.
  const target = await getTarget("postgres");
  const files: string[] = [];
  for await (const e of Deno.readDir(TEST_DIR)) {
    if (e.isFile && e.name.endsWith(".test.sql")) files.push(new URL(e.name, TEST_DIR).pathname);
  }
  assert.ok(files.length > 0, "no pgTAP files found");
  const url = new URL(target.url!);
  const out = await new Deno.Command("pg_prove", {
    args: [
      "-h",
      url.hostname,
      "-p",
      url.port,
      "-U",
      "postgres",
      "-d",
      url.pathname.slice(1),
      ...files.sort(),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  console.log(text);
  await target.close();
  assert.ok(out.success, `pg_prove failed:\n${text}`);
  assert.match(text, /All tests successful/);
});
