/**
 * Pages of a list, by number (`?page`, LeadLex's) or by keyset cursor (`?cursor`), in one place:
 * the cursor's encoding and validation, the query and meta schemas, the SQL arguments and the
 * answer's meta. Every list route uses `keysetList` (routes/list_*.ts); its SQL function follows
 * the pattern in supabase/migrations/20261206003000_list_company_contacts.sql.
 *
 * A cursor is base64url of the JSON `[1, list, parent, created_at, id]`: the version, the list it
 * belongs to (its name and the path's parent id, null for a top-level list) and the last row the
 * client saw, the position the next page starts after. It is opaque to clients, not secret (it
 * holds nothing the page did not show) and not signed: whatever a client makes of it, it can only
 * place a page within its own org's list, whose org comes from the key. Everything else about it
 * is checked before the call: a cursor that is not one this list gave is a 400, never a 500.
 */
import { type ApiError, validationError } from "../errors.ts";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "../limits.ts";
import type { z } from "zod";
import type { Zod } from "./zod.ts";

/** Page mode reads at most this many rows before its page (`(page - 1) * per_page`); deeper is
 * refused with a pointer to the cursor, so a request costs what a page costs. */
export const MAX_OFFSET = 10_000;

/** The longest cursor accepted. Ours are about 150 characters. */
export const MAX_CURSOR_LENGTH = 256;

const VERSION = 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// As the SQL functions write timestamps (internal.iso): UTC, microseconds.
const TIMESTAMP = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Where a page starts: after this row, in the list's order. */
export interface Position {
  created_at: string;
  id: string;
}

/** A decoded cursor. */
export interface Cursor {
  list: string;
  parent: string | null;
  after: Position;
}

export const MALFORMED_CURSOR =
  "cursor is not one this API gave: send meta.next_cursor exactly as it came";
export const FOREIGN_CURSOR =
  "cursor belongs to another list: send the next_cursor of this list's own pages";
export const CURSOR_WITH_PAGE = "send page or cursor, not both: a cursor carries its own position";
export const DEEP_OFFSET =
  `page reaches past the first ${MAX_OFFSET} rows: walk further with cursor (meta.next_cursor)`;

const base64url = (s: string) =>
  btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

export function encodeCursor(list: string, parent: string | null, after: Position): string {
  return base64url(
    JSON.stringify([VERSION, list, parent?.toLowerCase() ?? null, after.created_at, after.id]),
  );
}

/** A timestamp Postgres reads as the instant it names (no 24:00, no 31 February, no year 0). */
function isTimestamp(s: unknown): s is string {
  if (typeof s !== "string") return false;
  const m = TIMESTAMP.exec(s);
  if (!m || Number(m[1]) < 1) return false;
  const ms = `${s.slice(0, 23)}Z`;
  const date = new Date(ms);
  return !Number.isNaN(date.getTime()) && date.toISOString() === ms;
}

/** The cursor, or null when it is not one encodeCursor could have written. */
export function decodeCursor(raw: string): Cursor | null {
  if (raw.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(raw)) return null;
  let value: unknown;
  try {
    const text = atob(raw.replaceAll("-", "+").replaceAll("_", "/"));
    if (!/^[\x20-\x7e]*$/.test(text)) return null;
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 5) return null;
  const [version, list, parent, createdAt, id] = value;
  if (version !== VERSION || typeof list !== "string" || !/^[a-z_]{1,40}$/.test(list)) return null;
  if (parent !== null && !(typeof parent === "string" && UUID.test(parent))) return null;
  if (!isTimestamp(createdAt) || typeof id !== "string" || !UUID.test(id)) return null;
  return { list, parent, after: { created_at: createdAt, id } };
}

/** The query a list takes. */
export interface ListQuery {
  page?: number;
  per_page: number;
  cursor?: string;
}

/** What a list's SQL function answers besides its rows. */
export interface ListData {
  total: number | null;
  has_more: boolean;
}

/** Where a page sits: `meta` of a list's answer. */
export interface ListMeta {
  page?: number;
  per_page: number;
  total?: number;
  has_more: boolean;
  next_cursor: string | null;
}

/** Where a page sits: `meta` of a list's answer (`items`: what the list holds, for the
 * document). */
export const listMeta = (z: Zod, items: string) =>
  z.object({
    page: z.int().optional().meta({ description: "The page number (page mode only)." }),
    per_page: z.int(),
    total: z.int().nonnegative().optional().meta({
      description: `${items} in all (page mode only).`,
    }),
    has_more: z.boolean().meta({ description: "Whether a page follows this one." }),
    next_cursor: z.string().nullable().meta({
      description: "Send it as ?cursor= for the next page; null when nothing follows.",
    }),
  });

// Postgres integer: the SQL functions' page parameter type.
const MAX_PAGE = 2_147_483_647;

/** A query-string integer: digits only (no signs, exponents, hex or blanks), then bounded.
 * Documented as the integer it is. */
const queryInt = (z: Zod, name: string, min: number, max: number) =>
  z.preprocess(
    (v) => typeof v === "string" && /^[0-9]{1,10}$/.test(v) ? Number(v) : v,
    z.int({ error: `${name} must be a whole number` })
      .min(min, { error: `${name} must be at least ${min}` })
      .max(max, { error: `${name} must be at most ${max}` }),
  );

/**
 * One list: `name` goes into its cursors (a cursor of another list is refused), `parent` picks
 * the path's parent id (the company of a company's contacts), if the list has one.
 *
 *   const pages = keysetList<{ id: string }>({ name: "company_contacts", items: "Contacts",
 *     parent: (params) => params.id });
 *   request: (z) => ({ params: ..., query: pages.query(z) }),
 *   check: pages.check,
 *   sql: { fn, args: (input) => ({ p_company_id: input.params.id, ...pages.args(input) }) },
 *   response: { schema: (z) => z.object({ data: ..., meta: pages.meta(z) }),
 *     from: (data, input) => ({ data: data.contacts, meta: pages.answer(input, data, data.contacts) }) }
 */
// deno-lint-ignore no-explicit-any
export function keysetList<P = any, F extends Record<string, z.ZodType> = Record<never, never>>(
  spec: {
    name: string;
    items: string;
    parent?: (params: P) => string;
    /** per_page's default (DEFAULT_PER_PAGE unless given). */
    perPage?: number;
    /** The list's own query parameters beside the paging ones (a filter, say). */
    filters?: (z: Zod) => F;
  },
) {
  const { name, items } = spec;
  const perPage = spec.perPage ?? DEFAULT_PER_PAGE;
  const parentOf = (params: P) => spec.parent?.(params).toLowerCase() ?? null;

  return {
    /** `?page`, `?per_page`, `?cursor`: page and cursor exclusive, page mode's offset bounded. */
    query: (z: Zod) =>
      z.strictObject({
        page: queryInt(z, "page", 1, MAX_PAGE).optional().meta({
          param: { name: "page", in: "query" },
          description: `Page number, from 1 (default 1). Page mode: the page's meta has total. ` +
            `At most ${MAX_OFFSET} ${items.toLowerCase()} may come before the page ` +
            `((page - 1) * per_page); walk further with cursor. Not with cursor.`,
          example: 1,
        }),
        per_page: queryInt(z, "per_page", 1, MAX_PER_PAGE).default(perPage).meta({
          param: { name: "per_page", in: "query" },
          description: `${items} per page, 1 to ${MAX_PER_PAGE} (default ${perPage}).`,
          example: perPage,
        }),
        cursor: z.string({ error: "cursor must be a string" })
          .max(MAX_CURSOR_LENGTH, {
            error: `cursor must be at most ${MAX_CURSOR_LENGTH} characters`,
          })
          .superRefine((raw, ctx) => {
            if (raw.length > MAX_CURSOR_LENGTH) return;
            const cursor = decodeCursor(raw);
            if (!cursor) ctx.addIssue({ code: "custom", message: MALFORMED_CURSOR });
            else if (cursor.list !== name) {
              ctx.addIssue({ code: "custom", message: FOREIGN_CURSOR });
            }
          })
          .optional()
          .meta({
            param: { name: "cursor", in: "query" },
            description: "The previous page's meta.next_cursor: the page after it, read from " +
              "the index at that position, at the same cost however deep. Its meta has no " +
              "total. Not with page.",
          }),
        ...(spec.filters?.(z) ?? {}) as F,
      }).superRefine((parsed, ctx) => {
        // The paging fields' own types (F's spread widens the generic object's).
        const q = parsed as ListQuery;
        if (q.cursor !== undefined && q.page !== undefined) {
          ctx.addIssue({ code: "custom", path: ["cursor"], message: CURSOR_WITH_PAGE });
        } else if (q.page !== undefined && (q.page - 1) * q.per_page > MAX_OFFSET) {
          ctx.addIssue({ code: "custom", path: ["page"], message: DEEP_OFFSET });
        }
      }),

    /** `meta` of the list's answer. */
    meta: (z: Zod) => listMeta(z, items),

    /** A cursor of this list but another parent: 400, before the call. */
    check: (input: { params: P; query: ListQuery }): ApiError | null => {
      const raw = input.query.cursor;
      if (raw === undefined) return null;
      if (decodeCursor(raw)?.parent !== parentOf(input.params)) {
        return validationError(
          [{ path: ["cursor"], code: "custom", message: FOREIGN_CURSOR }],
          "query",
        );
      }
      return null;
    },

    /** The SQL function's paging arguments. */
    args: ({ query }: { query: ListQuery }) => {
      const after = query.cursor === undefined ? null : decodeCursor(query.cursor)!.after;
      return {
        p_page: query.page ?? 1,
        p_per_page: query.per_page,
        p_after_created_at: after?.created_at ?? null,
        p_after_id: after?.id ?? null,
      };
    },

    /** The answer's meta, its next cursor from the page's last row. */
    answer: (
      input: { params: P; query: ListQuery },
      data: ListData,
      rows: Position[],
    ): ListMeta => {
      const { query } = input;
      const last = rows.at(-1);
      const next_cursor = data.has_more && last
        ? encodeCursor(name, parentOf(input.params), { created_at: last.created_at, id: last.id })
        : null;
      return query.cursor === undefined
        ? {
          page: query.page ?? 1,
          per_page: query.per_page,
          total: data.total ?? 0,
          has_more: data.has_more,
          next_cursor,
        }
        : { per_page: query.per_page, has_more: data.has_more, next_cursor };
    },
  };
}
