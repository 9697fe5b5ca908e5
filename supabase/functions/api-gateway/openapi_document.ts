/** The OpenAPI document, as served: openapi.generated.ts (generated at build time from the route
 * declarations by `deno task openapi`, committed; a test fails when it is stale), with the
 * servers the app was given appended to the public URL template. Loaded on first request by a
 * literal import(), so it stays out of the start-up path but inside the deployed bundle (a
 * TypeScript module rather than JSON with an import attribute: `functions deploy --use-api`
 * finds the files to upload with a pattern that reads `import("./x")` only). */

type Server = { url: string; description: string };
type Document = { servers: Server[] } & Record<string, unknown>;

let generated: Promise<Document> | undefined;

/** The document with `extraServers` listed after the generated ones. */
export async function openApiDocument(extraServers: Server[] = []): Promise<Document> {
  generated ??= import("./openapi.generated.ts").then(({ default: doc }) => doc as Document);
  const doc = await generated;
  return extraServers.length ? { ...doc, servers: [...doc.servers, ...extraServers] } : doc;
}
