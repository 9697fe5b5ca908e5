import assert from "node:assert/strict";
import { openApiJson, REDOCLY_CLI, REDOCLY_CONFIG } from "../../local/openapi.ts";
import { npxUnavailableReason } from "../harness/npx.ts";
import { trustSystemCas } from "../../local/ca_trust.ts";

const skip = await npxUnavailableReason(REDOCLY_CLI, "The redocly lint test is");

Deno.test({
  name: `openapi: \`${REDOCLY_CLI} lint\` (redocly.yaml) passes, deployed and as the dev server ` +
    "serves it",
  ignore: skip !== null,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-redocly-" });
  try {
    const deployed = `${dir}/deployed.json`;
    const dev = `${dir}/dev_server.json`;
    await Deno.writeTextFile(deployed, await openApiJson());
    await Deno.writeTextFile(
      dev,
      await openApiJson([{ url: "http://localhost:54321/functions/v1", description: "dev" }]),
    );
    const out = await new Deno.Command("npx", {
      args: ["--yes", REDOCLY_CLI, "lint", "--config", REDOCLY_CONFIG, deployed, dev],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { ...trustSystemCas(), NO_COLOR: "1" },
    }).output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `redocly lint failed (exit ${out.code}):\n${said}`);
    // Warnings are errors under recommended-strict; say so if that ever changes.
    assert.doesNotMatch(said, /You have \d+ warnings?/, said);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
