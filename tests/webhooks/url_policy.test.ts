// Where webhooks may go, decided without a connection: addresses in every form, and what names
// resolve to (the resolver is the test's; nothing is looked up or sent).
import assert from "node:assert/strict";
import {
  isPublic,
  MAX_URL_LENGTH,
  normalizedWebhookUrl,
  parseIp,
  webhookUrlProblem,
} from "../../supabase/functions/api-gateway/webhooks/url_policy.ts";
import { retryAfterSeconds } from "../../supabase/functions/api-gateway/webhooks/dispatch.ts";

const publicIp = (text: string) => {
  const ip = parseIp(text);
  assert.ok(ip, `${text} parses`);
  return isPublic(ip);
};

Deno.test("url policy: IPv4 and IPv6 addresses, public or not", async (t) => {
  await t.step("not public", () => {
    for (
      const ip of [
        "0.0.0.0",
        "10.255.0.1",
        "100.64.0.1",
        "100.127.255.255",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.168.10.20",
        "198.18.0.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a00:1",
        "64:ff9b::192.168.0.1",
        "2002:a00:1::1",
        "2001:db8::1",
        "2001::1",
        "fc00::1",
        "fd12:3456:789a::1",
        "fe80::1",
        "febf::1",
        "ff02::1",
        "100::1",
        "3fff::1",
      ]
    ) {
      assert.equal(publicIp(ip), false, ip);
    }
  });

  await t.step("public", () => {
    for (
      const ip of [
        "8.8.8.8",
        "93.184.215.14",
        "100.63.255.255",
        "100.128.0.1",
        "172.15.255.255",
        "172.32.0.1",
        "192.169.0.1",
        "2606:4700::6810:84e5",
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
      ]
    ) {
      assert.equal(publicIp(ip), true, ip);
    }
  });

  await t.step("not addresses", () => {
    for (
      const text of [
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "01.2.3.4",
        "::1::2",
        "g::1",
        "fe80::1%eth0",
      ]
    ) {
      assert.equal(parseIp(text), null, text);
    }
  });
});

Deno.test("url policy: URLs, and names by what they resolve to", async (t) => {
  const table: Record<string, string[]> = {
    "public.example.com": ["93.184.215.14", "2606:4700::6810:84e5"],
    "rebind.example.com": ["93.184.215.14", "10.0.0.1"],
    "six.example.com": ["fe80::1"],
  };
  const asked: string[] = [];
  const resolve = (host: string) => (asked.push(host), Promise.resolve(table[host] ?? []));

  await t.step("accepted", async () => {
    for (
      const url of [
        "https://public.example.com/hooks",
        "https://public.example.com:8443/a?b=c",
        "https://93.184.215.14/x",
        "https://[2606:4700::6810:84e5]/x",
      ]
    ) {
      assert.equal(await webhookUrlProblem(url, { resolve }), null, url);
    }
  });

  await t.step("refused, each with its reason", async () => {
    const cases: [string, RegExp][] = [
      ["http://public.example.com/x", /https/],
      ["https://rebind.example.com/x", /resolves to an address that is not public/],
      ["https://six.example.com/x", /not public/],
      ["https://unknown.example.com/x", /does not resolve/],
      ["https://0177.0.0.1/x", /not public/],
      ["https://0x7f000001/x", /not public/],
      ["https://[0:0:0:0:0:ffff:7f00:1]/x", /not public/],
      ["https://printer.local/x", /local name/],
      ["https://db.internal/x", /local name/],
      ["https://u:p@public.example.com/x", /credentials/],
      ["javascript:alert(1)", /https/],
    ];
    for (const [url, why] of cases) {
      const problem = await webhookUrlProblem(url, { resolve });
      assert.ok(problem, `${url} must be refused`);
      assert.match(problem, why, url);
    }
  });

  await t.step("a resolver that fails or is slow refuses; none at all refuses names", async () => {
    const failing = () => Promise.reject(new Error("SERVFAIL"));
    assert.match(
      (await webhookUrlProblem("https://public.example.com/x", { resolve: failing }))!,
      /could not be resolved/,
    );
    let signal: AbortSignal | undefined;
    const hanging = (_: string, s?: AbortSignal) => (signal = s, new Promise<string[]>(() => {}));
    assert.match(
      (await webhookUrlProblem("https://public.example.com/x", {
        resolve: hanging,
        resolveTimeoutMs: 20,
      }))!,
      /could not be resolved/,
    );
    assert.equal(signal?.aborted, true, "the lookup is told to stop");
    // Fail closed: where names cannot be checked, they are refused (the dev server alone, which
    // sends to local receivers anyway, takes them unchecked).
    assert.match(
      (await webhookUrlProblem("https://public.example.com/x", { resolve: null }))!,
      /cannot be resolved/,
    );
    assert.equal(
      await webhookUrlProblem("https://public.example.com/x", {
        resolve: null,
        allowLocalHttp: true,
      }),
      null,
    );
    assert.equal(await webhookUrlProblem("https://93.184.215.14/x", { resolve: null }), null);
    assert.match((await webhookUrlProblem("https://10.0.0.1/x", { resolve: null }))!, /not public/);
  });

  await t.step("a trailing dot is stripped before the local-name checks", async () => {
    for (
      const url of [
        "https://localhost./x",
        "https://foo.internal./x",
        "https://printer.local./x",
        "https://api.localhost./x",
      ]
    ) {
      assert.match((await webhookUrlProblem(url, { resolve }))!, /local name/, url);
    }
    assert.equal(await webhookUrlProblem("https://public.example.com./x", { resolve }), null);
    assert.ok(asked.includes("public.example.com"), "looked up without the dot");
    // The dev server's local receivers, with the dot too.
    assert.equal(
      await webhookUrlProblem("http://localhost.:8080/x", { allowLocalHttp: true, resolve }),
      null,
    );
  });

  await t.step("the URL the table would refuse is refused here first", async () => {
    // Normalised, these are what the table stores; only the stored length can still exceed it.
    assert.equal(
      normalizedWebhookUrl("HTTPS://Public.Example.com/A"),
      "https://public.example.com/A",
    );
    assert.equal(
      normalizedWebhookUrl(" https://public.example.com/"),
      "https://public.example.com/",
    );
    assert.equal(normalizedWebhookUrl("https:public.example.com"), "https://public.example.com/");
    assert.equal(
      normalizedWebhookUrl("https:\\\\public.example.com"),
      "https://public.example.com/",
    );
    for (const raw of ["HTTPS://public.example.com/x", " https://public.example.com/x"]) {
      assert.equal(await webhookUrlProblem(raw, { resolve }), null, raw);
    }
    const grows = `https://public.example.com/${"é".repeat(700)}`;
    assert.ok(grows.length < MAX_URL_LENGTH);
    assert.match((await webhookUrlProblem(grows, { resolve }))!, /longer than/);
  });

  await t.step("the dev policy: loopback http, and nothing else local", async () => {
    const dev = { allowLocalHttp: true, resolve };
    for (const url of ["http://localhost:8080/h", "http://127.0.0.1/h", "https://[::1]:9/h"]) {
      assert.equal(await webhookUrlProblem(url, dev), null, url);
    }
    for (
      const url of ["http://10.0.0.1/h", "http://192.168.1.1/h", "http://public.example.com/h"]
    ) {
      assert.ok(await webhookUrlProblem(url, dev), url);
    }
  });
});

Deno.test("dispatch: Retry-After read in either form, clamped to 0 to a day", () => {
  const now = Date.parse("2026-12-06T00:00:00Z");
  const cases: [string | null, number | null][] = [
    [null, null],
    ["", null],
    ["soon", null],
    ["120", 120],
    [" 7 ", 7],
    ["0", 0],
    ["99999999999999999999999999", 86_400],
    ["-5", null],
    ["Sun, 06 Dec 2026 00:02:00 GMT", 120],
    ["Fri, 31 Dec 2260 23:59:59 GMT", 86_400],
    ["Thu, 01 Jan 1970 00:00:00 GMT", 0],
  ];
  for (const [header, seconds] of cases) {
    assert.equal(retryAfterSeconds(header, now), seconds, String(header));
  }
});
