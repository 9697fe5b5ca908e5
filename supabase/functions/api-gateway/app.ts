import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import type { AppDeps, AppEnv, ResolvedDeps } from "./deps.ts";
import { errorResponse, type Logger, payloadTooLarge, validationError } from "./errors.ts";
import { accessLog } from "./middleware/access_log.ts";
import { routeMiss } from "./middleware/not_found.ts";
import { registerRoutes } from "./routes/index.ts";

export const BASE_PATH = "/api-gateway";
export const MAX_BODY_BYTES = 64 * 1024;

export const jsonLineLogger: Logger = (entry) => console.log(JSON.stringify(entry));

/** Hands work to the edge runtime so it outlives the response; elsewhere lets it run. */
export function deferToRuntime(task: Promise<unknown>): void {
  const runtime = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } })
    .EdgeRuntime;
  if (runtime?.waitUntil) runtime.waitUntil(task);
}

export function createApp(deps: AppDeps) {
  const resolved: ResolvedDeps = {
    db: deps.db,
    log: deps.log ?? jsonLineLogger,
    defer: deps.defer ?? deferToRuntime,
  };

  const app = new OpenAPIHono<AppEnv>({
    // zod failures share the one error body with everything else.
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(result.error.issues, result.target === "param" ? "path" : "body");
      }
    },
  });

  app.use(
    "*",
    requestId({ headerName: "X-Request-ID", limitLength: 128 }),
    accessLog(resolved.log),
    cors({
      origin: "*",
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "X-Request-ID"],
      exposeHeaders: ["X-Request-ID", "Retry-After", "WWW-Authenticate", "Allow"],
      maxAge: 600,
    }),
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw payloadTooLarge();
      },
    }),
    async (c, next) => {
      c.set("deps", resolved);
      await next();
    },
  );

  const api = app.basePath(BASE_PATH);
  registerRoutes(api);
  api.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "wbk_ followed by 52 letters and digits",
  });
  api.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "LeadLex API gateway",
      version: "1.0.0",
      description: "Authenticate with `Authorization: Bearer wbk_...`. Errors use one envelope: " +
        '`{"error": {"code", "message", "details"?}}`. Every response carries `X-Request-ID`.',
    },
    servers: [{ url: "https://<project-ref>.supabase.co/functions/v1" }],
  });

  app.notFound(routeMiss(app));
  app.onError((err, c) => errorResponse(c, err, resolved.log));
  return app;
}

export type GatewayApp = ReturnType<typeof createApp>;
