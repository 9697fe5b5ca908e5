import { keysetList, type ListData } from "../kit/cursor.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import {
  API_KEYS_PER_PAGE,
  type ApiKey,
  apiKeyExample,
  apiKeyFilters,
  apiKeyPage,
} from "../api_keys/schemas.ts";

const pages = keysetList({
  name: "api_keys",
  items: "Keys",
  perPage: API_KEYS_PER_PAGE,
  filters: apiKeyFilters,
});

const { key: _plaintext, ...listed } = apiKeyExample;

export const listApiKeys = defineEndpoint({
  method: "get",
  path: "/v1/api-keys",
  operationId: "listApiKeys",
  tags: ["api-keys"],
  summary: "List the API keys",
  description: "One page of the workspace's keys, oldest first (by created_at, then id): " +
    "metadata only, never a key or its hash. Revoked keys only with include_revoked=true; " +
    "search filters by name or description.",
  permission: "admin:api_keys",
  request: (z: Zod) => ({ query: pages.query(z) }),
  check: pages.check,
  sql: {
    fn: "list_api_keys",
    args: (input) => ({
      ...pages.args(input),
      p_include_revoked: input.query.include_revoked,
      p_search: input.query.search ?? null,
    }),
  },
  response: {
    description: "A page of keys, and where it sits.",
    schema: apiKeyPage,
    example: {
      data: [{ ...listed, last_used_at: "2026-12-06T10:05:00.000000Z", revoked_at: null }],
      meta: {
        page: 1,
        per_page: API_KEYS_PER_PAGE,
        total: 1,
        has_more: false,
        next_cursor: null,
      },
    },
    from: (data: ListData & { keys: ApiKey[] }, input) => ({
      data: data.keys,
      meta: pages.answer(input, data, data.keys),
    }),
  },
});
