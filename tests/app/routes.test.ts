// Each endpoint's own HTTP contract (tests/routes/*.ts), on every database target.
import { buildApp } from "../harness/app.ts";
import { loadRouteTests } from "../harness/route_tests.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

for (const route of await loadRouteTests()) {
  if (!route.contract) continue;
  const { method, path } = route.endpoint;
  for (const kind of TARGET_KINDS) {
    Deno.test(
      { name: `contract: ${method.toUpperCase()} ${path} [${kind}]`, ...targetTestOptions(kind) },
      async (t) => {
        const target = await getTarget(kind);
        try {
          await route.contract!(t, {
            target,
            build: (options) => buildApp(target.db, options),
          });
        } finally {
          await target.close();
        }
      },
    );
  }
}
