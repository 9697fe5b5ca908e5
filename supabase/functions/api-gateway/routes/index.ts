import type { AnyEndpoint } from "../kit/endpoint.ts";
import { linkContacts } from "./companies/link_contacts.ts";
import { listContacts } from "./companies/list_contacts.ts";
import { unlinkContacts } from "./companies/unlink_contacts.ts";

/** Every endpoint, one line each: the app, its OpenAPI document and the shared test suites are
 * built from this list. */
export const ENDPOINTS: AnyEndpoint[] = [
  linkContacts,
  unlinkContacts,
  listContacts,
];
