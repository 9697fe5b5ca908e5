/** The function's name: Supabase serves it at /functions/v1/api-gateway and hands it paths that
 * start with /api-gateway. */
export const FUNCTION_NAME = "api-gateway";
export const BASE_PATH = `/${FUNCTION_NAME}`;
/** What the platform strips before the function sees the path; the dev server does the same. */
export const PLATFORM_PREFIX = "/functions/v1";
/** The public URL of a deployed project, as documented. */
export const PUBLIC_URL_TEMPLATE = `https://<project-ref>.supabase.co${PLATFORM_PREFIX}`;
