/**
 * Hostile input, generated, on every declared route: fast-check builds thousands of requests and
 * sends them in-process to the real app on a real database. Nothing here names a route: each
 * one's method, path template and params, query, body, permission, valid request and 200 checks
 * come from its declaration (tests/routes/*.ts, loaded by loadRouteTests), so a new route joins
 * by being declared.
 *
 * Generated (model.ts reads the declarations; requests.ts, urls.ts and bodies.ts build on
 * hostile.ts): random JSON and non-JSON bodies, regrown and mutated valid bodies,
 * `__proto__`/`constructor` keys, JSON fragments, non-UTF-8 bytes, deep nesting, huge arrays,
 * oversized bodies; hostile and valid-ish query strings (repeated, unknown, huge numbers);
 * hostile headers, methods, content types, Content-Lengths, request ids; path variants,
 * traversal, the OpenAPI document, unknown paths; keys with and without the route's permission,
 * revoked, expired, the other org's. Besides, valid(self) with one dimension made hostile, each
 * route's cross-org cases, and body arrays from their pinned maximum to as many as fit in a body.
 *
 * Properties, for every request (check.ts, answers.ts): never a 5xx; an X-Request-ID, echoed
 * when sane; every non-2xx (HEAD and the preflight aside) exactly the error envelope, its code
 * known and its status the one ERRORS gives it, details items exactly {path, code, message, in};
 * 401 with WWW-Authenticate and no rate-limit headers, 405 with Allow; 413 iff the body is over
 * MAX_BODY_BYTES (when Content-Length is honest); at most one database call; well-formed
 * rate-limit headers exactly when that call was made and the key not refused (so on every 200 of
 * an endpoint, never on a 401); no business write unless a 200 of a route that writes; a 200 of
 * an endpoint came from a key holding the permission, is exactly its response schema and passes
 * the route's check200; no key or key hash in any response or log line; one JSON log line per
 * request, none at level error; no prototype pollution. Whatever a generator knows to expect
 * (valid(self): 200 and ok(); wrong method: 405; keys: 401/403; cross-org: the declared answer;
 * arrays past their maximum: 400 too_big) is held too. A run must reach every status in MUST_REACH.
 *
 * Replay a failure with the command it prints (FC_SEED, and FC_PATH for the shrunk
 * counterexample alone; the database then lacks the writes of the runs before it, so prefer the
 * seed alone). FC_RUNS raises the number of requests.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { allKeys, createTenant } from "../harness/fixtures.ts";
import { loadRouteTests } from "../harness/route_tests.ts";
import { getTarget, TARGET_KINDS, type TargetKind, targetTestOptions } from "../harness/targets.ts";
import { requestChecker } from "./check.ts";
import { routeModel } from "./model.ts";
import { hostileRequests } from "./requests.ts";
import { assertProperty, NUM_RUNS, REPLAY_PATH, replayCommand, SEED } from "./settings.ts";

const ROUTES = await loadRouteTests();

/** Statuses a run of this size must reach, or the generators have drifted into vacuity. */
const MUST_REACH = [200, 204, 400, 401, 403, 404, 405, 413, 415];

/** One target, ready to run: its own database, tenants, app and generated requests. */
async function prepare(kind: TargetKind) {
  const target = await getTarget(kind);
  const { app, logs, calls } = buildApp(target.db);
  const a = await createTenant(target.owner, { companies: 2, contacts: 6 });
  const b = await createTenant(target.owner, { companies: 1, contacts: 3 });
  // Opens the gateway pool's connection now (an unknown key: nothing is written or counted).
  await target.db.call("api_authorize", { p_key_hash: "0".repeat(64), p_permission: "-" });
  const plaintexts = allKeys(a, b);
  const secrets = [...plaintexts, ...await Promise.all(plaintexts.map(hashApiKey))];
  const models = ROUTES.map((test, i) => routeModel(test, i, a, b));
  return {
    kind,
    target,
    logs,
    secrets,
    models,
    requests: hostileRequests(models, a, b),
    checker: requestChecker({ target, app, logs, calls, a, b, models, secrets }),
  };
}
type Prepared = Awaited<ReturnType<typeof prepare>>;

async function hostileRun(p: Prepared, t: Deno.TestContext) {
  const { kind, logs, secrets } = p;
  const { arbitrary, redact } = p.requests;
  const { check, statuses, count } = p.checker;
  await t.step(
    `${NUM_RUNS} requests over ${p.models.length} routes: no 5xx, the envelope, no stray write`,
    async () => {
      console.log(
        `[${kind}] hostile input: ${NUM_RUNS} runs, seed ${SEED}` +
          (REPLAY_PATH ? `, path ${REPLAY_PATH}` : "") +
          ` (replay: ${replayCommand(REPLAY_PATH)})`,
      );
      await assertProperty(fc.asyncProperty(arbitrary, check), `[${kind}] hostile input`, redact);
      console.log(
        `[${kind}] hostile input: ${count()} requests sent, seed ${SEED}, ` +
          `statuses ${JSON.stringify(statuses)}`,
      );
      if (REPLAY_PATH === undefined) {
        assert.ok(count() >= NUM_RUNS, `only ${count()} requests were sent`);
        for (const status of MUST_REACH) {
          assert.ok(statuses[status] > 0, `no ${status} in ${JSON.stringify(statuses)}`);
        }
      }
    },
  );

  // Each line was checked as it was written; all of them again, together.
  await t.step("no key or key hash in any log line; one line per request", () => {
    assert.equal(logs.length, count(), `${logs.length} log lines for ${count()} requests`);
    assertNoSecrets(logs, secrets);
  });
}

// The targets are set up one after another, then run side by side (while one waits on its
// database, another's requests are built and checked); each is a step, ignored (loudly) where
// it cannot run. PGlite computes on this thread, so a Postgres connection opened meanwhile could
// outlast its connect timeout: every connection a target uses is opened while setting it up, and
// its pools keep reusing them (a target's requests go one at a time).
Deno.test(
  { name: "hostile input, generated, every route", sanitizeOps: false, sanitizeResources: false },
  async (t) => {
    const prepared = new Map<TargetKind, Prepared>();
    try {
      for (const kind of TARGET_KINDS) {
        if (!targetTestOptions(kind).ignore) prepared.set(kind, await prepare(kind));
      }
      await Promise.all(TARGET_KINDS.map((kind) =>
        t.step({
          name: `[${kind}]`,
          ...targetTestOptions(kind),
          sanitizeExit: false,
          fn: (t) => hostileRun(prepared.get(kind)!, t),
        })
      ));
    } finally {
      for (const p of prepared.values()) await p.target.close();
    }
  },
);
