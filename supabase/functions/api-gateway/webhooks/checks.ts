import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { type ApiError, invalidEvents, invalidUrl } from "../errors.ts";
import { WEBHOOK_EVENT_TYPES } from "./events.ts";
import {
  normalizedWebhookUrl,
  runtimeResolver,
  type UrlPolicy,
  webhookUrlProblem,
} from "./url_policy.ts";

let defaultPolicy: UrlPolicy | undefined;

/** The app's URL policy: the one it was given (the dev server's, a test's), else https to public
 * addresses with the runtime's resolver (none: names are refused). */
export function urlPolicyOf(c: Context<AppEnv>): UrlPolicy {
  const given = c.get("deps").webhooks?.urlPolicy;
  if (given) return given;
  defaultPolicy ??= { resolve: runtimeResolver() };
  return defaultPolicy;
}

/** The URL as stored and shown (webhookInputProblem has accepted it, so it parses). */
export const storedUrl = (raw: string): string => normalizedWebhookUrl(raw) ?? raw;

/** The refusal a webhook's url and events earn (what zod cannot judge), or null: 400 invalid_url
 * for a URL the gateway will not send to, 400 invalid_events for an unknown event type. */
export async function webhookInputProblem(
  input: { url?: string; events?: string[] },
  c: Context<AppEnv>,
): Promise<ApiError | null> {
  if (input.url !== undefined) {
    const why = await webhookUrlProblem(input.url, urlPolicyOf(c));
    if (why) return invalidUrl(why);
  }
  const known: readonly string[] = WEBHOOK_EVENT_TYPES;
  const unknown = (input.events ?? []).filter((t) => !known.includes(t));
  if (unknown.length) return invalidEvents([...new Set(unknown)], WEBHOOK_EVENT_TYPES);
  return null;
}
