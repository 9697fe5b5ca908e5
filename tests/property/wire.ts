/**
 * From a generated request (small, printable, shrinkable) to the bytes and the Request the app
 * receives. Large bodies are described by their recipe and only built here.
 */
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import type { ContentLength } from "./hostile.ts";
import { syntheticUuid } from "./hostile.ts";

export type HugeItem = "own" | "uuid" | "zero" | "null" | "array" | "text";

export type BodySpec =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array<ArrayBuffer> }
  /** `depth` brackets or objects, between `before` and `after` (the rest of a valid body). */
  | {
    kind: "deep";
    depth: number;
    open: "[" | '{"a":';
    before: string;
    after: string;
    balanced: boolean;
  }
  /** An array of `n` items between `before` and `after`; "own" items cycle through `own`. */
  | { kind: "huge"; n: number; item: HugeItem; before: string; after: string; own: unknown[] }
  /** `base` (a valid body) grown to `size` bytes: whitespace, a long extra string, or raw bytes. */
  | { kind: "oversized"; size: number; style: "padded" | "long-string" | "bytes"; base: string };

/** What a generated request is expected to get, when the generator knows. */
export type Expect =
  /** valid(self), unchanged: 200, and the route's ok(). */
  | { kind: "ok" }
  /** valid(self) under another method: the route's answer, the preflight, or 405. */
  | { kind: "method" }
  | { kind: "status"; status: number; code?: string }
  /** An array past its pinned maximum: 400, zod's too_big at its path. */
  | { kind: "tooMany"; path: string }
  /** route.crossOrg(A, B)[index]. */
  | { kind: "crossOrg"; index: number };

export interface Hostile {
  /** The index of the route the request was built around (its label for reading). */
  route: number;
  aim: string;
  method: string;
  path: string;
  /** "" or "?...". */
  query: string;
  headers: [string, string][];
  body: BodySpec;
  contentLength: ContentLength;
  expect?: Expect;
}

const utf8 = new TextEncoder();

/** `"key":value` added to a JSON object's text (or the text unchanged if it is not one). */
export function withMember(objectText: string, key: string, rawValue: string): string {
  if (!objectText.endsWith("}")) return objectText;
  const member = `${JSON.stringify(key)}:${rawValue}`;
  return objectText === "{}" ? `{${member}}` : `${objectText.slice(0, -1)},${member}}`;
}

function hugeItem(item: HugeItem, own: unknown[], i: number): string {
  switch (item) {
    case "own":
      return JSON.stringify(own[i % own.length] ?? null);
    case "uuid":
      return JSON.stringify(syntheticUuid(i));
    case "zero":
      return "0";
    case "null":
      return "null";
    case "array":
      return "[]";
    default:
      return '"x"';
  }
}

/** The bytes a body spec stands for (null: no body at all). */
export function materialize(body: BodySpec): Uint8Array<ArrayBuffer> | null {
  switch (body.kind) {
    case "none":
      return null;
    case "text":
      return utf8.encode(body.text);
    case "bytes":
      return body.bytes;
    case "deep": {
      const close = body.open === "[" ? "]" : "}";
      const inner = body.open.repeat(body.depth) + "0" +
        close.repeat(body.balanced ? body.depth : body.depth - 1);
      return utf8.encode(body.before + inner + body.after);
    }
    case "huge": {
      const items = Array.from({ length: body.n }, (_, i) => hugeItem(body.item, body.own, i));
      return utf8.encode(`${body.before}[${items.join(",")}]${body.after}`);
    }
    case "oversized": {
      if (body.style === "bytes") return new Uint8Array(body.size).fill(0x41);
      const padded = body.style === "padded";
      const head = padded
        ? body.base.endsWith("}") ? body.base.slice(0, -1) : body.base
        : withMember(body.base, "pad", '""').slice(0, -2);
      const tail = padded ? (body.base.endsWith("}") ? "}" : "") : '"}';
      const room = Math.max(0, body.size - head.length - tail.length);
      return utf8.encode(head + (padded ? " " : "x").repeat(room) + tail);
    }
  }
}

export interface Built {
  request: Request;
  sent: Uint8Array<ArrayBuffer> | null;
}

export function toRequest(h: Hostile): Built {
  const bodiless = ["GET", "HEAD"].includes(h.method.toUpperCase());
  const sent = bodiless ? null : materialize(h.body);
  const headers = new Headers();
  for (const [name, value] of h.headers) headers.append(name, value);
  if (sent !== null && h.contentLength !== "absent") {
    const cl = h.contentLength;
    const value = cl === "honest"
      ? String(sent.length)
      : cl === "half"
      ? String(Math.floor(sent.length / 2))
      : cl === "over"
      ? String(sent.length + MAX_BODY_BYTES)
      : cl.raw;
    headers.set("Content-Length", value);
  }
  return {
    request: new Request(`http://localhost${h.path}${h.query}`, {
      method: h.method,
      headers,
      body: sent,
    }),
    sent,
  };
}
