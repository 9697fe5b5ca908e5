// Each endpoint's own HTTP contract (tests/routes/*.ts), on every database target. The routes
// share one database per target, as they share a Supabase stack: each contract makes its own
// tenants (and a PGlite costs half a second of CPU to start, in a CPU-bound test run).
import { buildApp } from "../harness/app.ts";
import { loadRouteTests } from "../harness/route_tests.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const ROUTES = (await loadRouteTests()).filter((route) => route.contract);

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `contract: every route's own [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      try {
        for (const route of ROUTES) {
          const { method, path } = route.endpoint;
          await t.step(`${method.toUpperCase()} ${path}`, (t) =>
            route.contract!(t, {
              target,
              build: (options) => buildApp(target.db, options),
            }));
        }
      } finally {
        await target.close();
      }
    },
  );
}
