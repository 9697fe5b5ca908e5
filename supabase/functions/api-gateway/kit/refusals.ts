import type { Outcome, RateLimitState, WindowName } from "./outcome.ts";

/** At most this many keys are remembered (a few hundred bytes each); when full, expired entries
 * go first, then the oldest. */
export const MAX_REFUSED_KEYS = 1024;
/** A refusal is remembered until its window resets, and never longer than this: a limit raised
 * by hand (an org's override) is seen within a minute even on the day window. */
export const MAX_REFUSAL_MS = 60_000;

/** Keys the database refused for their window (429 rate_limited), remembered by this app
 * instance, so that a refused key's retries are answered without a database call, as the
 * database would answer them: the same outcome and headers, with reset_in (and so Retry-After)
 * counted down on the app's clock. Keyed by the key's hash; bounded by MAX_REFUSED_KEYS. */
export interface Refusals {
  /** The refusal still standing for this key at `nowMs`, its reset_in recomputed; else null. */
  standing(keyHash: string, nowMs: number): Outcome | null;
  /** Remembers a rate_limited outcome of the database (anything else is ignored). */
  remember(keyHash: string, outcome: Outcome, nowMs: number): void;
  readonly size: number;
}

export function createRefusals(max = MAX_REFUSED_KEYS): Refusals {
  const entries = new Map<string, { outcome: Outcome; until: number }>();
  return {
    standing(keyHash, nowMs) {
      const entry = entries.get(keyHash);
      if (!entry) return null;
      if (nowMs >= entry.until) {
        entries.delete(keyHash);
        return null;
      }
      const state = entry.outcome.rate_limit!;
      return {
        ...entry.outcome,
        rate_limit: {
          ...state,
          minute: countedDown(state.minute, nowMs),
          day: countedDown(state.day, nowMs),
        },
      };
    },
    remember(keyHash, outcome, nowMs) {
      const state = outcome.rate_limit;
      if (outcome.outcome !== "rate_limited" || !state?.window) return;
      const until = Math.min(
        state[state.window as WindowName].reset * 1000,
        nowMs + MAX_REFUSAL_MS,
      );
      if (until <= nowMs) return;
      entries.delete(keyHash);
      if (entries.size >= max) {
        for (const [hash, entry] of entries) if (nowMs >= entry.until) entries.delete(hash);
      }
      if (entries.size >= max) entries.delete(entries.keys().next().value!);
      entries.set(keyHash, { outcome, until });
    },
    get size() {
      return entries.size;
    },
  };
}

/** A window's state at `nowMs`: whole seconds to its reset, at least 1, as the database counts. */
function countedDown(window: RateLimitState["minute"], nowMs: number) {
  return { ...window, reset_in: Math.max(1, Math.ceil((window.reset * 1000 - nowMs) / 1000)) };
}
