import type { AnyEndpoint } from "../kit/endpoint.ts";
import { linkContactsToCompany } from "./link_contacts_to_company.ts";
import { listCompanyContacts } from "./list_company_contacts.ts";
import { unlinkContactsFromCompany } from "./unlink_contacts_from_company.ts";

/** Every endpoint, one line each: the app, its OpenAPI document and the shared test suites are
 * built from this list. A file is named after its SQL function. */
export const ENDPOINTS: AnyEndpoint[] = [
  linkContactsToCompany,
  unlinkContactsFromCompany,
  listCompanyContacts,
];
