import { companyNotFound } from "../errors.ts";
import { MAX_CONTACT_IDS } from "../limits.ts";
import { schema } from "./zod.ts";

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
