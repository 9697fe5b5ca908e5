/** Every permission a key can hold. Routes name theirs from here and the key tools check against
 * it, so a typo is a type error in a route and a refused key at creation. Scopes are exact:
 * contacts:write does not imply contacts:read. The database knows the list too
 * (internal.api_key_permissions, held to this one by tests/routes/create_api_key.ts). */
export const PERMISSIONS = [
  "contacts:read",
  "contacts:write",
  "webhooks:read",
  "webhooks:write",
  "admin:api_keys",
] as const;
export type Permission = typeof PERMISSIONS[number];

export const isPermission = (p: string): p is Permission =>
  (PERMISSIONS as readonly string[]).includes(p);
