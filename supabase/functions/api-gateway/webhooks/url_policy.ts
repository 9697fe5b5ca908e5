/**
 * Where the gateway will send a webhook: https to a public address, never an address that is
 * private, loopback, link-local or otherwise not public, whether written as an IP (in any of the
 * forms a URL parser accepts: 2130706433, 0x7f.1, [::ffff:127.0.0.1] ...) or reached through a
 * name: every address the name resolves to must be public, and a name that cannot be resolved
 * (no resolver, no answer within RESOLVE_TIMEOUT_MS, an error) is refused. Checked when an
 * endpoint is created or changed, and again before every delivery (a name can change what it
 * resolves to; redirects are never followed). The dev server alone also allows http://localhost
 * and 127.0.0.1, for local receivers.
 *
 * What is checked is the URL as the WHATWG parser writes it (`new URL(raw).href`:
 * normalizedWebhookUrl), and that is what is stored and shown: `HTTPS://Host`, ` https://host`,
 * `https:host` and `https:\\host` all become `https://host/`.
 */

/** A name's addresses (A and AAAA), as strings; [] when it has none. The signal ends a lookup
 * that takes too long. */
export type Resolver = (hostname: string, signal?: AbortSignal) => Promise<string[]>;

export interface UrlPolicy {
  /** The dev server's local receivers: http or https to localhost, 127.0.0.1 or [::1]. */
  allowLocalHttp?: boolean;
  /** Resolves names; null where the runtime cannot. Without one, names are refused (only the
   * dev server, allowLocalHttp, accepts them unchecked). */
  resolve?: Resolver | null;
  /** How long a lookup may take (RESOLVE_TIMEOUT_MS; tests shorten it). */
  resolveTimeoutMs?: number;
}

export const MAX_URL_LENGTH = 2048;
/** A lookup that has not answered by then is a refusal. */
export const RESOLVE_TIMEOUT_MS = 2_000;

/** The runtime's resolver (Deno.resolveDns), or null where there is none or it is not allowed. */
export function runtimeResolver(): Resolver | null {
  const resolveDns = (globalThis as { Deno?: { resolveDns?: typeof Deno.resolveDns } }).Deno
    ?.resolveDns;
  if (typeof resolveDns !== "function") return null;
  return async (hostname, signal) => {
    const answers = await Promise.all(
      (["A", "AAAA"] as const).map((type) =>
        resolveDns(hostname, type, { signal }).catch((err: Error) => {
          if (err instanceof Deno.errors.NotFound || err.name === "NotFound") return [];
          throw err;
        })
      ),
    );
    return answers.flat();
  };
}

/** The URL as it is checked, stored and shown (the WHATWG parser's serialization), or null when
 * it does not parse. */
export function normalizedWebhookUrl(raw: string): string | null {
  if (raw.length > MAX_URL_LENGTH) return null;
  try {
    return new URL(raw).href;
  } catch {
    return null;
  }
}

const LOCAL_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);
const NOT_PUBLIC_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test"];

/** Why `raw` is refused (a fixed, short sentence: never the URL), or null when it may be used. */
export async function webhookUrlProblem(raw: string, policy: UrlPolicy): Promise<string | null> {
  if (raw.length > MAX_URL_LENGTH) return `longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "not an absolute URL";
  }
  // What is stored: the table holds it to ^https?:// and 2,048 characters.
  if (url.href.length > MAX_URL_LENGTH) return `longer than ${MAX_URL_LENGTH} characters`;
  // A name's trailing dot (the root) names the same host: `localhost.` is localhost.
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const local = policy.allowLocalHttp === true && LOCAL_NAMES.has(host);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    return "it must use https";
  }
  if (url.username || url.password) return "it must not carry credentials";
  if (local) return null;

  const literal = parseIp(host.startsWith("[") ? host.slice(1, -1) : host);
  if (literal) return isPublic(literal) ? null : "it names an address that is not public";
  if (host === "localhost" || NOT_PUBLIC_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return "its host is a local name";
  }
  if (!host.includes(".")) return "its host must be a fully qualified name";
  if (!policy.resolve) {
    return policy.allowLocalHttp ? null : "its host cannot be resolved here to check it";
  }
  let addresses: string[];
  const timeoutMs = Math.min(policy.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS, RESOLVE_TIMEOUT_MS);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    addresses = await Promise.race([
      policy.resolve(host, signal),
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    ]);
  } catch {
    return "its host could not be resolved";
  }
  if (addresses.length === 0) return "its host does not resolve";
  for (const address of addresses) {
    const ip = parseIp(address);
    if (!ip || !isPublic(ip)) return "its host resolves to an address that is not public";
  }
  return null;
}

/** An address as 4 (IPv4) or 16 (IPv6) bytes. */
type Ip = { v: 4; bytes: number[] } | { v: 6; bytes: number[] };

/** A dotted-quad IPv4 (what a URL parser leaves of every IPv4 form) or an IPv6 address. */
export function parseIp(text: string): Ip | null {
  const v4 = parseIpv4(text);
  if (v4) return { v: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  return v6 ? { v: 6, bytes: v6 } : null;
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p))) return null;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function parseIpv6(text: string): number[] | null {
  let rest = text.toLowerCase();
  if (rest.includes("%")) return null; // a zone: link-local by nature, and not for a URL
  // A trailing dotted IPv4 becomes its two groups.
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (tail) {
    const v4 = parseIpv4(tail[2]);
    if (!v4) return null;
    rest = `${tail[1]}${((v4[0] << 8) | v4[1]).toString(16)}:${
      ((v4[2] << 8) | v4[3]).toString(16)
    }`;
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const head = groups(halves[0]);
  const back = halves.length === 2 ? groups(halves[1]) : [];
  if ([...head, ...back].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  const missing = 8 - head.length - back.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...back];
  return all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** Whether an address is on the public internet (IANA's special-purpose registries, for both
 * families); an IPv6 that embeds an IPv4 (mapped, NAT64, 6to4) is judged by that IPv4. */
export function isPublic(ip: Ip): boolean {
  if (ip.v === 4) return isPublicV4(ip.bytes);
  const b = ip.bytes;
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the old compatible form, and :: and ::1).
  if (zeros(0, 10) && ((b[10] === 0xff && b[11] === 0xff) || (b[10] === 0 && b[11] === 0))) {
    if (b[10] === 0 && b[11] === 0) return false;
    return isPublicV4(b.slice(12));
  }
  // 64:ff9b::/96, NAT64 to the embedded IPv4.
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) {
    return isPublicV4(b.slice(12));
  }
  // 2002::/16, 6to4 of the IPv4 in bytes 2-5.
  if (b[0] === 0x20 && b[1] === 0x02) return isPublicV4(b.slice(2, 6));
  // Only 2000::/3 is global unicast; within it, 2001::/23 (protocol assignments, Teredo),
  // 2001:db8::/32 and 3fff::/20 (documentation) are not public.
  if ((b[0] & 0xe0) !== 0x20) return false;
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] < 0x02) return false;
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return false;
  if (b[0] === 0x3f && b[1] === 0xff && (b[2] & 0xf0) === 0) return false;
  return true;
}

/** IPv4 ranges that are not public: [first octets, prefix length]. */
const NOT_PUBLIC_V4: [number[], number][] = [
  [[0], 8], // "this network"
  [[10], 8], // private
  [[100, 64], 10], // shared address space (CGNAT)
  [[127], 8], // loopback
  [[169, 254], 16], // link-local (cloud metadata lives here)
  [[172, 16], 12], // private
  [[192, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2], 24], // documentation
  [[192, 88, 99], 24], // 6to4 relay anycast
  [[192, 168], 16], // private
  [[198, 18], 15], // benchmarking
  [[198, 51, 100], 24], // documentation
  [[203, 0, 113], 24], // documentation
  [[224], 4], // multicast
  [[240], 4], // reserved, and the broadcast address
];

function isPublicV4(bytes: number[]): boolean {
  const value = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  return !NOT_PUBLIC_V4.some(([octets, prefix]) => {
    const base = octets.concat([0, 0, 0, 0]).slice(0, 4);
    const start = ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) >>> 0;
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    return ((value & mask) >>> 0) === ((start & mask) >>> 0);
  });
}
