/**
 * The environment of a child process that may download packages (npx and the tool it fetches, an
 * older Deno): it trusts the machine's certificate authorities as well as its own bundled ones.
 * Behind a TLS-inspecting proxy the registry presents the proxy's certificate, which the system
 * trusts and a bundled store does not. Deno 2.9 reads the system store by itself; Deno 2.1 (the
 * edge runtime's line) reads only its bundled Mozilla store unless DENO_TLS_CA_STORE names
 * "system"; Node adds the file NODE_EXTRA_CA_CERTS names to its bundled store. A value the user
 * set is kept.
 */

/** Where distributions keep the system's CA bundle (Debian/Ubuntu/Alpine, Fedora/RHEL, macOS). */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];

function isFile(path: string | undefined): path is string {
  if (!path) return false;
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Variables to add to a child's environment (it inherits the rest). */
export function trustSystemCas(): Record<string, string> {
  const env: Record<string, string> = {
    DENO_TLS_CA_STORE: Deno.env.get("DENO_TLS_CA_STORE") || "system,mozilla",
  };
  const bundle = [
    Deno.env.get("NODE_EXTRA_CA_CERTS"),
    Deno.env.get("SSL_CERT_FILE"),
    ...SYSTEM_BUNDLES,
  ]
    .find(isFile);
  if (bundle) env.NODE_EXTRA_CA_CERTS = bundle;
  return env;
}
