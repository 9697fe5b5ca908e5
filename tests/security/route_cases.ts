import type { Tenant } from "../harness/fixtures.ts";

/** How the shared security suite exercises one authenticated route. Every route the OpenAPI
 * document lists with `security` must have an entry here: route_security.test.ts fails
 * otherwise, so a new route cannot skip the suite. */
export interface RouteCase {
  method: string;
  /** The OpenAPI path, exactly as in the document (e.g. /api-gateway/v1/companies/{id}/...). */
  openapiPath: string;
  /** The permission the route requires. */
  scope: string;
  /** A request that succeeds for `self` with a key holding `scope`. */
  valid(self: Tenant): RouteRequest;
  /** The same request aimed at another org's resources, and what the route must answer. */
  crossOrg(self: Tenant, other: Tenant): (RouteRequest & {
    name: string;
    status: number;
    code?: string;
  })[];
}

export interface RouteRequest {
  path: string;
  body?: unknown;
}

export const ROUTE_CASES: RouteCase[] = [
  {
    method: "POST",
    openapiPath: "/api-gateway/v1/companies/{id}/contacts/link",
    scope: "contacts:write",
    valid: (self) => ({
      path: `/api-gateway/v1/companies/${self.companyIds[0]}/contacts/link`,
      body: { contact_ids: self.contactIds.slice(0, 2) },
    }),
    crossOrg: (self, other) => [
      {
        name: "another org's company in the path",
        path: `/api-gateway/v1/companies/${other.companyIds[0]}/contacts/link`,
        body: { contact_ids: self.contactIds.slice(0, 2) },
        status: 404,
        code: "company_not_found",
      },
      {
        name: "another org's company and contacts",
        path: `/api-gateway/v1/companies/${other.companyIds[0]}/contacts/link`,
        body: { contact_ids: other.contactIds },
        status: 404,
        code: "company_not_found",
      },
      {
        // Counted as failed, exactly like ids that do not exist: nothing tells them apart.
        name: "another org's contacts in the body",
        path: `/api-gateway/v1/companies/${self.companyIds[0]}/contacts/link`,
        body: { contact_ids: other.contactIds },
        status: 200,
      },
    ],
  },
];
