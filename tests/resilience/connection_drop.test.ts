// The db_faults flake, made deterministic: Postgres drops a new connection while postgres.js
// fetches its array types (as a restart under traffic does). The query that opened the connection
// must fail (the gateway answers 503), and the process must live on: postgres.js leaves that types
// query's rejection unhandled, and Deno ends a process on one. Each case runs in a child process,
// so the process that could die is not the test runner.
import assert from "node:assert/strict";

const LOCAL_POSTGRES = new URL("../../local/postgres.ts", import.meta.url).href;

/** A loopback "Postgres" that completes the start-up handshake (trust authentication), then, as
 * soon as the client sends its first query, shuts down: it closes that connection and stops
 * listening, as a Postgres stopped under traffic does. One per child process. */
function droppingServer(): { port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = async () => {
    for await (const conn of listener) {
      await (async () => {
        const buf = new Uint8Array(65_536);
        try {
          await conn.read(buf); // the startup message
          const msg = (type: string, body: number[]) => {
            const out = new Uint8Array(5 + body.length);
            out[0] = type.charCodeAt(0);
            new DataView(out.buffer).setInt32(1, 4 + body.length);
            out.set(body, 5);
            return out;
          };
          await conn.write(msg("R", [0, 0, 0, 0])); // AuthenticationOk
          await conn.write(msg("Z", ["I".charCodeAt(0)])); // ReadyForQuery, idle
          await conn.read(buf); // its first query: the array types
        } catch { /* the client went first */ }
        listener.close();
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  };
  serve().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port };
}

/** Runs `code` in a child Deno; its exit code and what it printed. */
async function child(code: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

const script = (connect: string, port: number) => `
  ${connect}
  setTimeout(() => { console.log("hung"); Deno.exit(3); }, 20_000);
  const sql = open("postgresql://postgres@127.0.0.1:${port}/postgres");
  const error = await sql\`select 1\`.then(() => null, (e) => e);
  console.log("query failed:", error?.code ?? error?.message);
  await new Promise((r) => setTimeout(r, 300));
  console.log("alive");
  Deno.exit(0);
`;

Deno.test("resilience: a connection dropped during postgres.js's types fetch", async (t) => {
  await t.step("control: bare postgres.js dies of the unhandled rejection", async () => {
    const run = await child(script(
      `import postgres from "postgres"; const open = (u: string) => postgres(u, { max: 1 });`,
      droppingServer().port,
    ));
    assert.notEqual(run.code, 0, run.text);
    assert.match(run.text, /Uncaught \(in promise\)/, run.text);
    assert.doesNotMatch(run.text, /alive/);
  });

  await t.step("the gateway's pools: the query fails, the process lives on", async () => {
    const run = await child(script(
      `import { connectPostgres } from "${LOCAL_POSTGRES}";
       const open = (u: string) => connectPostgres(u, { role: null, max: 1 });`,
      droppingServer().port,
    ));
    assert.equal(run.code, 0, run.text);
    assert.match(run.text, /query failed: \w+/, run.text);
    assert.match(run.text, /alive/, run.text);
  });
});
