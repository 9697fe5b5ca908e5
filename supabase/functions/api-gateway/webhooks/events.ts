/** The webhook event types: one per change an integration syncs. The SQL side's list
 * (internal.webhook_event_types(), supabase/migrations) is held to this one by
 * tests/webhooks/events.test.ts. */
export const WEBHOOK_EVENT_TYPES = [
  "company.contacts_linked",
  "company.contacts_unlinked",
] as const;
export type WebhookEventType = typeof WEBHOOK_EVENT_TYPES[number];
