/**
 * zod, loaded with the first request that needs a schema (one that passed the key check), not at
 * start-up: its ~95 modules (64 of them locales) are most of what a cold worker would evaluate
 * before its first answer, and a refused or keyless request never validates anything. Route
 * declarations therefore give their schemas as builders `(z) => schema`, built once, from the
 * zod this module loads (the OpenAPI generator and the tests pass the same zod, imported
 * statically).
 */
import type { z as Z } from "zod";

export type Zod = typeof Z;

let loading: Promise<Zod> | undefined;

/** zod, imported on first use (a literal import(), so it stays in the deployed bundle). */
export function loadZod(): Promise<Zod> {
  loading ??= import("zod").then((m) => m.z);
  return loading;
}

/** A schema builder that builds once: a shared schema (`.meta({ id })`) stays one object, as the
 * OpenAPI document's components need. */
export function schema<T>(build: (z: Zod) => T): (z: Zod) => T {
  let built: T | undefined;
  return (z) => built ??= build(z);
}
