import assert from "node:assert/strict";
import { DOCUMENT, openApiJson } from "../../local/openapi.ts";
import { documentModule, documentText } from "../../local/openapi/document.ts";

type Media = {
  example?: unknown;
  examples?: Record<string, { value: { error: { code: string } } }>;
};
type Operation = {
  operationId: string;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content: Record<string, Media> }>;
};

Deno.test("openapi: servers are the public URL template, then the ones createApp is given", async () => {
  const local = { url: "http://localhost:54321/functions/v1", description: "deno task dev" };
  const deployed = JSON.parse(await openApiJson());
  const dev = JSON.parse(await openApiJson([local]));
  const template = {
    url: "https://{project_ref}.supabase.co/functions/v1",
    description: "A deployed Supabase project",
    variables: { project_ref: { default: "your-project-ref" } },
  };
  assert.deepEqual(deployed.servers, [template]);
  assert.deepEqual(dev.servers, [template, local]);
});

Deno.test("openapi: every body and every answer has an example, each error code its own", async () => {
  const doc = JSON.parse(await openApiJson());
  const operations = Object.values(doc.paths as Record<string, Record<string, Operation>>)
    .flatMap((item) => Object.values(item));
  assert.ok(operations.length >= 3);
  for (const op of operations) {
    const body = op.requestBody?.content["application/json"];
    if (op.requestBody) assert.ok(body?.example, `${op.operationId}: no request example`);
    const success = Object.keys(op.responses).find((s) => /^2\d\d$/.test(s))!;
    if (success !== "204") {
      assert.ok(op.responses[success].content["application/json"].example, op.operationId);
    }
    for (const [status, response] of Object.entries(op.responses)) {
      if (status === success) continue;
      // The description names each code the status can carry: `code`: what it means; ...
      const codes = [...response.description.matchAll(/`([a-z_]+)`:/g)].map((m) => m[1]);
      const examples = response.content["application/json"].examples ?? {};
      assert.deepEqual(Object.keys(examples).sort(), codes.sort(), `${op.operationId} ${status}`);
      for (const [code, example] of Object.entries(examples)) {
        assert.equal(example.value.error.code, code, `${op.operationId} ${status}`);
      }
    }
  }
});

Deno.test("openapi: the committed document is what the route declarations generate now", async () => {
  const committed = await Deno.readTextFile(DOCUMENT);
  assert.equal(
    committed,
    documentModule(),
    "supabase/functions/api-gateway/openapi.generated.ts is stale: run " +
      "`npx --yes deno@2.9.6 task openapi` and commit it",
  );
  // And the function serves exactly it.
  assert.equal(await openApiJson(), documentText());
});
