import type { AnyEndpoint } from "../kit/endpoint.ts";
import { createApiKey } from "./create_api_key.ts";
import { createWebhook } from "./create_webhook.ts";
import { deleteWebhook } from "./delete_webhook.ts";
import { linkContactsToCompany } from "./link_contacts_to_company.ts";
import { listApiKeys } from "./list_api_keys.ts";
import { listCompanyContacts } from "./list_company_contacts.ts";
import { listWebhookDeliveries } from "./list_webhook_deliveries.ts";
import { listWebhooks } from "./list_webhooks.ts";
import { retryWebhookDelivery } from "./retry_webhook_delivery.ts";
import { revokeApiKey } from "./revoke_api_key.ts";
import { rotateApiKey } from "./rotate_api_key.ts";
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
  createApiKey,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
];
