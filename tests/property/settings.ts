/**
 * How many requests a run generates, from which seed, and how to replay one: FC_RUNS (may raise
 * the count, never lower it below MIN_REQUESTS, or 300 in the quick loop), FC_SEED, FC_PATH (fast-check's path to a shrunk
 * counterexample, with the same seed).
 */
import fc from "fast-check";

export const MIN_REQUESTS = 2_000;
/** The quick loop's (`deno task test:quick`) count: a smoke run; the full run keeps the floor. */
const QUICK_REQUESTS = 300;
export const NUM_RUNS = Math.max(
  Deno.env.get("GATEWAY_TEST_QUICK") ? QUICK_REQUESTS : MIN_REQUESTS,
  Number(Deno.env.get("FC_RUNS") ?? 0) || 0,
);
export const SEED = seedFromEnv();
export const REPLAY_PATH = Deno.env.get("FC_PATH") || undefined;

function seedFromEnv(): number {
  const raw = Deno.env.get("FC_SEED")?.trim();
  if (!raw) return crypto.getRandomValues(new Int32Array(1))[0];
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${raw}`);
  return seed;
}

/** The command that reruns the suite as it ran (with `path`: only that counterexample). Through
 * npx, so it works where Deno is not installed, at the version the project pins. */
export function replayCommand(path?: string): string {
  const env = [`FC_SEED=${SEED}`];
  if (NUM_RUNS !== MIN_REQUESTS) env.push(`FC_RUNS=${NUM_RUNS}`);
  if (path) env.push(`FC_PATH=${path}`);
  return `${env.join(" ")} npx --yes deno@2.9.6 task test tests/property/`;
}

/** Runs the property; on failure, throws fast-check's report (passed through `redact`) with the
 * commands that replay the run and its shrunk counterexample. */
export async function assertProperty<T>(
  property: fc.IAsyncProperty<T>,
  label: string,
  redact: (text: string) => string,
): Promise<void> {
  const details = await fc.check(property, {
    numRuns: NUM_RUNS,
    seed: SEED,
    path: REPLAY_PATH,
  });
  if (!details.failed) return;
  const path = details.counterexamplePath ?? undefined;
  throw new Error(
    `${label} FAILED.\n` +
      `Replay the run:            ${replayCommand()}\n` +
      (path ? `Replay the counterexample: ${replayCommand(path)}\n` : "") +
      redact(fc.defaultReportMessage(details) ?? "") +
      `\n${redact(String((details.errorInstance as Error)?.stack ?? ""))}`,
  );
}
