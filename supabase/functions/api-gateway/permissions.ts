/** Every permission a key can hold. Routes name theirs from here and the key tools check against
 * it, so a typo is a type error in a route and a refused key at creation. Scopes are exact:
 * contacts:write does not imply contacts:read. */
export const PERMISSIONS = [
  "contacts:read",
  "contacts:write",
  "webhooks:read",
  "webhooks:write",
] as const;
export type Permission = typeof PERMISSIONS[number];

export const isPermission = (p: string): p is Permission =>
  (PERMISSIONS as readonly string[]).includes(p);
