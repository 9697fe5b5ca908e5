/** Limits written once: the app, its errors, the OpenAPI document and the tests read them here. */

/** Request bodies past this are refused (413) before anything else is read. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Ids per link or unlink request. */
export const MAX_CONTACT_IDS = 100;

/** Pagination: LeadLex's defaults. */
export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 100;
