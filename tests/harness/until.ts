/** Waits for a condition the test is sure of (a delivery arriving), polling every 20 ms, and fails
 * naming it after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 30_000) {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > timeoutMs) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
