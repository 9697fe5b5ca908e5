import { cannotGrant, tooManyApiKeys, validationError } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import { generateApiKey } from "../kit/key.ts";
import type { Zod } from "../kit/zod.ts";
import {
  apiKeyExample,
  type ApiKeyWithSecret,
  apiKeyWithSecret,
  createApiKeyBody,
} from "../api_keys/schemas.ts";

export const createApiKey = defineEndpoint({
  method: "post",
  path: "/v1/api-keys",
  operationId: "createApiKey",
  tags: ["api-keys"],
  summary: "Create an API key",
  description: "A new key for the workspace, shown only in this answer (store it now: only its " +
    "hash is kept). A key grants only permissions the calling key holds itself; any other is " +
    "refused (403, naming them). At most 100 active keys per workspace. Send an " +
    "`Idempotency-Key`: a retried request then shows the same key instead of minting another.",
  permission: "admin:api_keys",
  request: (z: Zod) => ({ body: createApiKeyBody(z) }),
  bodyExample: {
    name: "nightly sync",
    permissions: ["contacts:read"],
    description: "The CRM's nightly import",
    expires_at: "2027-01-01T00:00:00Z",
  },
  sql: {
    fn: "create_api_key",
    args: ({ body }) => ({
      p_key: generateApiKey(),
      p_name: body.name,
      p_permissions: body.permissions,
      p_description: body.description ?? null,
      p_expires_at: body.expires_at ?? null,
    }),
  },
  errors: {
    insufficient_permissions: (_input, outcome) =>
      cannotGrant((outcome.data as { missing: string[] }).missing),
    too_many_api_keys: tooManyApiKeys,
    validation_error: () =>
      validationError(
        [{ path: ["expires_at"], code: "too_small", message: "expires_at must be in the future" }],
        "body",
      ),
  },
  response: {
    status: 201,
    description: "The key, with its plaintext (shown only here).",
    schema: (z: Zod) => z.object({ data: apiKeyWithSecret(z) }),
    example: { data: apiKeyExample },
    from: (data: ApiKeyWithSecret) => ({ data }),
  },
});
