import { apiKeyNotFound, lastAdminKey } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import { apiKeyIdParams } from "../api_keys/schemas.ts";

export const revokeApiKey = defineEndpoint({
  method: "delete",
  path: "/v1/api-keys/{id}",
  operationId: "revokeApiKey",
  tags: ["api-keys"],
  summary: "Revoke an API key",
  description: "The key is refused from the next request on (401), whatever server answers it. " +
    "Revoking it again answers the same. The workspace's last active key with admin:api_keys " +
    "cannot be revoked (403): create another first.",
  permission: "admin:api_keys",
  request: (z: Zod) => ({ params: apiKeyIdParams(z) }),
  sql: {
    fn: "revoke_api_key",
    args: ({ params }) => ({ p_key_id: params.id }),
  },
  errors: {
    api_key_not_found: ({ params }) => apiKeyNotFound(params.id),
    insufficient_permissions: lastAdminKey,
  },
  response: {
    status: 204,
    description: "Revoked; no body.",
    from: () => undefined,
  },
});
