import type { AnyEndpoint } from "../kit/endpoint.ts";
import { createWebhook } from "./create_webhook.ts";
import { deleteWebhook } from "./delete_webhook.ts";
import { linkContactsToCompany } from "./link_contacts_to_company.ts";
import { listCompanyContacts } from "./list_company_contacts.ts";
import { listWebhookDeliveries } from "./list_webhook_deliveries.ts";
import { listWebhooks } from "./list_webhooks.ts";
import { retryWebhookDelivery } from "./retry_webhook_delivery.ts";
import { rotateWebhookSecret } from "./rotate_webhook_secret.ts";
import { unlinkContactsFromCompany } from "./unlink_contacts_from_company.ts";
import { updateWebhook } from "./update_webhook.ts";

/** Every endpoint, one line each: the app, its OpenAPI document and the shared test suites are
 * built from this list. A file is named after its SQL function. */
export const ENDPOINTS: AnyEndpoint[] = [
  linkContactsToCompany,
  unlinkContactsFromCompany,
  listCompanyContacts,
  createWebhook,
  listWebhooks,
  updateWebhook,
  deleteWebhook,
  rotateWebhookSecret,
  listWebhookDeliveries,
  retryWebhookDelivery,
];
