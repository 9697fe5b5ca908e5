import { apiKeyNotActive, apiKeyNotFound, cannotGrant, tooManyApiKeys } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import { generateApiKey } from "../kit/key.ts";
import type { Zod } from "../kit/zod.ts";
import {
  apiKeyExample,
  apiKeyIdParams,
  type ApiKeyWithSecret,
  apiKeyWithSecret,
  rotateApiKeyBody,
} from "../api_keys/schemas.ts";

export const rotateApiKey = defineEndpoint({
  method: "post",
  path: "/v1/api-keys/{id}/rotate",
  operationId: "rotateApiKey",
  tags: ["api-keys"],
  summary: "Rotate an API key",
  description: "A successor with the key's name, description, permissions and expiry, shown " +
    "only in this answer. The old key keeps working for grace_seconds (default a day; never " +
    "past its own expiry), then is refused. Only a key whose permissions the calling key holds " +
    "itself can be rotated; a revoked or expired one cannot (409). The body may be left out.",
  permission: "admin:api_keys",
  request: (z: Zod) => ({ params: apiKeyIdParams(z), body: rotateApiKeyBody(z) }),
  bodyExample: { grace_seconds: 3600 },
  bodyOptional: true,
  sql: {
    fn: "rotate_api_key",
    args: ({ params, body }) => ({
      p_key_id: params.id,
      p_new_key: generateApiKey(),
      p_grace_seconds: body.grace_seconds,
    }),
  },
  errors: {
    api_key_not_found: ({ params }) => apiKeyNotFound(params.id),
    api_key_not_active: ({ params }) => apiKeyNotActive(params.id),
    insufficient_permissions: (_input, outcome) =>
      cannotGrant((outcome.data as { missing: string[] }).missing),
    too_many_api_keys: tooManyApiKeys,
  },
  response: {
    status: 201,
    description: "The successor, with its plaintext (shown only here).",
    schema: (z: Zod) => z.object({ data: apiKeyWithSecret(z) }),
    example: { data: { ...apiKeyExample, id: "0c000000-0000-4000-8000-000000000002" } },
    from: (data: { key: ApiKeyWithSecret }) => ({ data: data.key }),
  },
});
