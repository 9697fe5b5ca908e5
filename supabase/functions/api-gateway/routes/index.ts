import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../deps.ts";
import { registerLinkContacts } from "./companies/link_contacts.ts";

/** Every endpoint, in one list: the app and the OpenAPI document are built from it. */
export function registerRoutes(api: OpenAPIHono<AppEnv>) {
  registerLinkContacts(api);
}
