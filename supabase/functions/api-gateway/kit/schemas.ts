import { companyNotFound } from "../errors.ts";
import { DEFAULT_PER_PAGE, MAX_CONTACT_IDS, MAX_PER_PAGE } from "../limits.ts";
import { schema, type Zod } from "./zod.ts";

/** Any 8-4-4-4-12 hex id Postgres accepts as a uuid, in any case. */
export const uuid = schema((z) => z.guid({ error: "Invalid UUID" }));

/** `{id}` in a path: the company's id. */
export const companyIdParams = schema((z) =>
  z.object({
    id: uuid(z).meta({
      param: { name: "id", in: "path" },
      example: "c0000000-0000-4000-8000-000000000001",
      description: "The company's id.",
    }),
  })
);

/** The answer of routes under companyIdParams whose function finds no such company. */
export const unknownCompany = ({ params }: { params: { id: string } }) =>
  companyNotFound(params.id);

/** A batch of the workspace's contacts, by id. */
export const contactIdsBody = schema((z) =>
  z.strictObject({
    contact_ids: z.array(uuid(z), { error: "contact_ids must be an array of UUID strings" })
      .min(1, { error: "contact_ids must hold at least 1 id" })
      .max(MAX_CONTACT_IDS, { error: `contact_ids must hold at most ${MAX_CONTACT_IDS} ids` })
      .meta({
        description: `1 to ${MAX_CONTACT_IDS} contact ids; duplicates count once.`,
        example: ["a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"],
      }),
  }).meta({ id: "ContactIds" })
);

/** What link and unlink answer: per distinct id, done or not the workspace's. */
export const batchResult = schema((z) =>
  z.object({
    data: z.object({
      updated: z.int().nonnegative().meta({
        description: "Distinct ids of the workspace's contacts now in the requested state " +
          "(already in it included).",
      }),
      failed: z.int().nonnegative().meta({
        description: "Distinct ids that are not contacts of the workspace.",
      }),
      failed_ids: z.array(z.string()).meta({
        description: "The ids counted in `failed`, lowercased, in the order first sent.",
      }),
    }),
  }).meta({ id: "BatchResult" })
);

export type BatchData = { updated: number; failed: number; failed_ids: string[] };

// Postgres integer: the SQL functions' page parameter type.
const MAX_PAGE = 2_147_483_647;

/** A query-string integer: digits only (no signs, exponents, hex or blanks), then bounded.
 * Documented as the integer it is. */
const queryInt = (z: Zod, name: string, min: number, max: number, fallback: number) =>
  z.preprocess(
    (v) => typeof v === "string" && /^[0-9]{1,10}$/.test(v) ? Number(v) : v,
    z.int({ error: `${name} must be a whole number` })
      .min(min, { error: `${name} must be at least ${min}` })
      .max(max, { error: `${name} must be at most ${max}` }),
  ).default(fallback);

/** LeadLex pagination: `?page` from 1 and `?per_page` up to MAX_PER_PAGE, nothing else. */
export const pageQuery = (z: Zod, items: string, perPage = DEFAULT_PER_PAGE) =>
  z.strictObject({
    page: queryInt(z, "page", 1, MAX_PAGE, 1).meta({
      param: { name: "page", in: "query" },
      description: "Page number, from 1.",
      example: 1,
    }),
    per_page: queryInt(z, "per_page", 1, MAX_PER_PAGE, perPage).meta({
      param: { name: "per_page", in: "query" },
      description: `${items} per page, 1 to ${MAX_PER_PAGE} (default ${perPage}).`,
      example: perPage,
    }),
  });

/** Where a page sits: `meta` of a paginated answer. */
export const pageMeta = (z: Zod, items: string) =>
  z.object({
    page: z.int(),
    per_page: z.int(),
    total: z.int().nonnegative().meta({ description: `${items} in all.` }),
  });

export type PageQuery = { page: number; per_page: number };
