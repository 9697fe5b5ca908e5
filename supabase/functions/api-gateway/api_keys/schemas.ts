/** The API key endpoints' shapes: what a client sends and what it is shown. A key's hash is never
 * part of any of them; its plaintext only of a creation's (or rotation's) answer. */
import type { z } from "zod";
import { PERMISSIONS } from "../permissions.ts";
import { listMeta } from "../kit/cursor.ts";
import { uuid } from "../kit/schemas.ts";
import { schema, type Zod } from "../kit/zod.ts";

/** The list's page size unless asked: LeadLex's for keys (its other lists default to 50). */
export const API_KEYS_PER_PAGE = 25;
export const MAX_NAME_LENGTH = 120;
export const MAX_DESCRIPTION_LENGTH = 500;
export const MAX_GRACE_SECONDS = 604_800;
export const DEFAULT_GRACE_SECONDS = 86_400;

const EXAMPLE_ID = "0c000000-0000-4000-8000-000000000001";
const time = (z: Zod, description: string) =>
  z.string().meta({ description: `${description} ISO 8601, UTC.`, format: "date-time" });

/** `{id}`: the API key's id. */
export const apiKeyIdParams = schema((z) =>
  z.object({
    id: uuid(z).meta({
      param: { name: "id", in: "path" },
      example: EXAMPLE_ID,
      description: "The API key's id (as the list shows it; never the key itself).",
    }),
  })
);

/** Text the database can store: well-formed Unicode without NUL (Postgres refuses both). */
const text = (z: Zod, field: string, min: number, max: number) =>
  z.string({ error: `${field} must be a string` })
    .min(min, { error: `${field} must be at least ${min} character${min > 1 ? "s" : ""}` })
    .max(max, { error: `${field} must be at most ${max} characters` })
    .refine((s) => s.isWellFormed() && !s.includes("\u0000"), {
      error: `${field} must be Unicode text without NUL characters`,
    });

export const permissionList = (z: Zod) =>
  z.array(
    z.enum(PERMISSIONS, { error: `each permission must be one of: ${PERMISSIONS.join(", ")}` }),
    { error: "permissions must be an array of permission names" },
  )
    .min(1, { error: "permissions must name at least 1 permission" })
    .max(PERMISSIONS.length, {
      error: `permissions must name at most ${PERMISSIONS.length} permissions`,
    })
    .refine((list) => new Set(list).size === list.length, {
      error: "permissions must not name a permission twice",
    });

export const createApiKeyBody = schema((z) =>
  z.strictObject({
    name: text(z, "name", 1, MAX_NAME_LENGTH).refine((s) => s.trim() !== "", {
      error: "name must not be blank",
    }).meta({ description: `1 to ${MAX_NAME_LENGTH} characters.`, example: "nightly sync" }),
    permissions: permissionList(z).meta({
      description: `1 to ${PERMISSIONS.length} of ${PERMISSIONS.join(", ")}, none twice; only ` +
        "permissions the calling key holds itself.",
      example: ["contacts:read"],
    }),
    description: text(z, "description", 0, MAX_DESCRIPTION_LENGTH).nullable().optional().meta({
      description: `Free text, up to ${MAX_DESCRIPTION_LENGTH} characters.`,
      example: "The CRM's nightly import",
    }),
    expires_at: z.iso.datetime({
      offset: true,
      error: "expires_at must be an ISO 8601 date-time with a zone (2027-01-01T00:00:00Z)",
    })
      // The database checks "in the future" on its clock; a year it cannot even store (0000) is
      // refused here, as past.
      .refine((v) => Date.parse(v) >= 0, { error: "expires_at must be in the future" })
      .nullable().optional().meta({
        description: "When the key stops working: an ISO 8601 date-time with a zone, in the " +
          "future. None: it works until revoked.",
        example: "2027-01-01T00:00:00Z",
      }),
  }).meta({ id: "CreateApiKey" })
);

export const rotateApiKeyBody = schema((z) =>
  z.strictObject({
    grace_seconds: z.int({ error: "grace_seconds must be a whole number" })
      .min(0, { error: "grace_seconds must be at least 0" })
      .max(MAX_GRACE_SECONDS, { error: `grace_seconds must be at most ${MAX_GRACE_SECONDS}` })
      .default(DEFAULT_GRACE_SECONDS)
      .meta({
        description: `How long the old key keeps working, 0 to ${MAX_GRACE_SECONDS} seconds ` +
          `(default ${DEFAULT_GRACE_SECONDS}: a day), never past its own expiry.`,
        example: 3600,
      }),
  }).meta({ id: "RotateApiKey" })
);

/** `true`/`false` (also 1/0) in a query string; anything else is refused. */
const queryBoolean = (z: Zod, name: string) =>
  z.preprocess(
    (v) => v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : v,
    z.boolean({ error: `${name} must be true or false` }),
  ).default(false);

/** The list's own filters, beside its paging parameters (kit/cursor.ts). */
export const apiKeyFilters = (z: Zod) => ({
  include_revoked: queryBoolean(z, "include_revoked").meta({
    param: { name: "include_revoked", in: "query" },
    description: "List revoked keys too (default false).",
    example: false,
  }),
  search: text(z, "search", 0, 200).optional().meta({
    param: { name: "search", in: "query" },
    description: "Only keys whose name or description contains this text, in any case " +
      "(empty: every key); " +
      "`%` and `_` are taken literally.",
    example: "sync",
  }),
});

/** A key with its plaintext: a creation's or a rotation's answer, the one place it is shown. */
export const apiKeyWithSecret = schema((z) =>
  z.object({
    id: uuid(z),
    key: z.string().meta({
      description: "The key: `wbk_` and 52 letters and digits. Shown only in this answer.",
    }),
    prefix: z.string().meta({ description: "Its first 12 characters, as the list shows it." }),
    name: z.string().nullable().meta({
      description: "As given; a rotation's successor keeps its predecessor's (null only for a " +
        "key made without one, outside the API).",
    }),
    description: z.string().nullable(),
    permissions: z.array(z.enum(PERMISSIONS)),
    expires_at: time(z, "When it stops working (null: never).").nullable(),
    created_at: time(z, "When it was created."),
  }).meta({ id: "NewApiKey" })
);
export type ApiKeyWithSecret = z.output<ReturnType<typeof apiKeyWithSecret>>;

/** A key as listed: metadata only. */
export const apiKey = schema((z) =>
  z.object({
    id: uuid(z),
    name: z.string().nullable(),
    description: z.string().nullable(),
    prefix: z.string().nullable(),
    permissions: z.array(z.string()),
    created_at: time(z, "When it was created."),
    last_used_at: time(z, "Its latest use, to the minute (null: never).").nullable(),
    expires_at: time(z, "When it stops working (null: never).").nullable(),
    revoked_at: time(z, "When it was revoked (null: it is not).").nullable(),
  }).meta({ id: "ApiKey" })
);
export type ApiKey = z.output<ReturnType<typeof apiKey>>;

export const apiKeyPage = schema((z) =>
  z.object({ data: z.array(apiKey(z)), meta: listMeta(z, "Keys that match") })
    .meta({ id: "ApiKeyPage" })
);

export const apiKeyExample = {
  id: EXAMPLE_ID,
  key: "wbk_3yBqLd1xV9sQk2TfR7mWcN4pZ8hJ6gA0eU5oI1rY3tE7wX9cv2Lm",
  prefix: "wbk_3yBqLd1x",
  name: "nightly sync",
  description: "The CRM's nightly import",
  permissions: ["contacts:read" as const],
  expires_at: "2027-01-01T00:00:00.000000Z",
  created_at: "2026-12-06T10:00:00.000000Z",
};
