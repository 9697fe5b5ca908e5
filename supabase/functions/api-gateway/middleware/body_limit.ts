import type { MiddlewareHandler } from "hono";

/**
 * Refuses a request body larger than `maxSize` bytes (`onError` throws the refusal): by its
 * Content-Length when it declares one, else by counting the stream, which is then kept for the
 * handlers. What hono/body-limit does, but without `new Request(c.req.raw, { body })`: copying a
 * Request copies its `signal`, and reading a served request's signal makes Deno 2.9 print
 * "request.signal aborts on successful responses (legacy behavior)" on the dev server's stderr.
 * A body sent without Content-Length takes that path: chunked, and every PUT or DELETE sent
 * without a body (each answered 405). Nothing here needs the signal, so the copy is built from the
 * URL, method and headers alone.
 */
export function bodyLimit(maxSize: number, onError: () => never): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return await next();
    const length = raw.headers.get("content-length");
    if (length !== null && !raw.headers.has("transfer-encoding")) {
      if (Number.parseInt(length, 10) > maxSize) onError();
      return await next();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = raw.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxSize) {
        await reader.cancel().catch(() => {});
        onError();
      }
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body });
    await next();
  };
}
