/** What a failing test that spawned a server says: the assertion, then what the server printed,
 * so the cause of a flake can be read from the failure alone. */

/** Anything that can say what it printed so far (a dev server, a Postgres server's log). */
export interface PrintsOutput {
  output(): string;
}

/** The last `max` characters: a server that printed a lot still gives a readable failure. */
const tail = (text: string, max = 8_000) =>
  text.length > max ? `[... ${text.length - max} earlier characters]\n${text.slice(-max)}` : text;

/** `err` with every server's output appended to its message (the original as its cause). */
export function withOutput(err: unknown, servers: PrintsOutput[]): Error {
  const original = err instanceof Error ? err : new Error(String(err));
  const printed = servers.map((s) => tail(s.output())).join("\n");
  const wrapped = new Error(`${original.message}\n${printed}`, { cause: original });
  wrapped.stack = `${wrapped.message}\n${original.stack?.split("\n").slice(1).join("\n") ?? ""}`;
  return wrapped;
}

/** Runs `body`; a failure carries the servers' output. */
export async function explained<T>(servers: PrintsOutput[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw withOutput(err, servers);
  }
}

/** A test step whose failure carries the servers' output. */
export function stepWithOutput(
  t: Deno.TestContext,
  name: string,
  servers: PrintsOutput[],
  body: (t: Deno.TestContext) => Promise<void>,
): Promise<boolean> {
  return t.step(name, (inner) => explained(servers, () => body(inner)));
}
