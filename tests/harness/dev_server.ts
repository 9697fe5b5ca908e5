/**
 * `deno task dev` and `deno task keys` as a person runs them: real processes, their output
 * collected. The dev server is launched directly, through `deno task` or through `npx`.
 */
import { collectOutput } from "../resilience/support.ts";
import { trustSystemCas } from "../../local/ca_trust.ts";

export const REPO = new URL("../../", import.meta.url).pathname;

export type Launcher = "direct" | "task" | "npx";

/** The task's own command line (deno.json is its one home), run without `deno task`. */
function directArgv(task: string, repo: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${repo}/deno.json`));
  const [deno, ...rest] = (config.tasks[task] as string).split(" ");
  if (deno !== "deno") throw new Error(`task ${task} does not start with deno`);
  return [Deno.execPath(), ...rest];
}

function argvFor(launcher: Launcher, task: string, repo: string): string[] {
  if (launcher === "direct") return directArgv(task, repo);
  if (launcher === "task") return [Deno.execPath(), "task", task];
  return ["npx", "--yes", `deno@${Deno.version.deno}`, "task", task];
}

export interface DevOptions {
  launcher?: Launcher;
  args?: string[];
  env?: Record<string, string>;
  /** Another checkout (default: this one). */
  repo?: string;
  /** A process group of its own, as a terminal gives a command (its Ctrl-C reaches the group). */
  group?: boolean;
}

/** Starts the dev server; DATABASE_URL is cleared unless given; its embedded database listens on
 * any free port unless DB_PORT is given (dev servers run side by side). */
export function spawnDev(port: number, options: DevOptions = {}) {
  const repo = options.repo ?? REPO;
  const [cmd, ...args] = argvFor(options.launcher ?? "task", "dev", repo);
  const child = new Deno.Command(cmd, {
    args: [...args, ...(options.args ?? [])],
    cwd: repo,
    env: {
      // `npx deno@...` may download Deno first.
      ...trustSystemCas(),
      DATABASE_URL: "",
      DB_PORT: "0",
      PORT: String(port),
      // PGlite's WASM (9 MB) is compiled twice at every start: by Liftoff, then again by TurboFan
      // in the background. These servers live for seconds, so the second compile is wasted: 0.5 s
      // of CPU a start (tests start about thirty, and the test run is CPU-bound). Behaviour is the
      // same; only V8's tier differs. DENO_V8_FLAGS adds to the task's --v8-flags.
      DENO_V8_FLAGS: "--liftoff-only",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: options.group ?? false,
  }).spawn();
  const stdout = collectOutput(child.stdout);
  const stderr = collectOutput(child.stderr);
  let exited = false;
  let exit = "";
  const status = child.status.then((s) => {
    exited = true;
    exit = ` (exited: code ${s.code}${s.signal ? `, signal ${s.signal}` : ""})`;
    return s;
  });
  return {
    pid: child.pid,
    stdout,
    stderr,
    status,
    get exited() {
      return exited;
    },
    /** Everything it printed so far, for failure messages. */
    output(): string {
      return `--- dev server stdout${exit} ---\n${stdout.text}\n` +
        `--- dev server stderr ---\n${stderr.text}`;
    },
    /** The banner, once the curl is printed; fails with everything printed otherwise. */
    async ready(timeoutMs = 240_000): Promise<string> {
      const ok = await stdout.waitFor(
        (t) => /^ready in /m.test(t) && /^\s+-d '/m.test(t),
        timeoutMs,
      );
      if (!ok) throw new Error(`dev server not ready:\n${stdout.text}\n${stderr.text}`);
      return stdout.text;
    },
    /** The database URL the banner gives for keys and psql (with DATABASE_URL: that one). */
    databaseUrl(): string {
      const url = stdout.text.match(/^DATABASE_URL='(postgresql:\/\/[^']+)' /m)?.[1];
      if (!url) throw new Error(`no database URL printed:\n${this.output()}`);
      return url;
    },
    /** The demo org's id, as the banner names it. */
    demoOrgId(): string {
      const id = stdout.text.match(/^demo org: ".*" ([0-9a-f-]{36})$/m)?.[1];
      if (!id) throw new Error(`no demo org printed:\n${this.output()}`);
      return id;
    },
    /** The demo key printed at start. */
    key(): string {
      const key = stdout.text.match(/^ {2}(wbk_[0-9A-Za-z]{52})$/m)?.[1];
      if (!key) throw new Error(`no key printed:\n${stdout.text}`);
      return key;
    },
    /** Signals the process (SIGKILL after 20 s) and waits for it and its output. */
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) child.kill(signal);
      const killer = setTimeout(() => exited || child.kill("SIGKILL"), 20_000);
      const result = await status;
      clearTimeout(killer);
      await Promise.all([stdout.done, stderr.done]);
      return result;
    },
  };
}

export type DevProcess = ReturnType<typeof spawnDev>;

/** `deno task keys <args>` to completion. */
export function runKeys(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runTask("keys", args, env);
}

/** `deno task <task> <args>` as a person runs it, DATABASE_URL cleared unless given. */
export async function runTask(
  task: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", task, ...args],
    cwd: REPO,
    env: { DATABASE_URL: "", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: withoutTaskLine(new TextDecoder().decode(out.stderr)),
  };
}

/** `deno task` announces the command it runs on stderr ("Task dev deno run ..."): not ours. */
export function withoutTaskLine(stderr: string): string {
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.split("\n").filter((l) => !/^Task \S+ /.test(l)).join("\n");
}

/** Every process below `pid` (and `pid` itself), from `ps`. */
export function processTree(pid: number): number[] {
  const out = new Deno.Command("ps", { args: ["-eo", "pid=,ppid="], stdout: "piped" }).outputSync();
  const children = new Map<number, number[]>();
  for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** The pids of `pids` still running (zombies count as gone). */
export function stillRunning(pids: number[]): number[] {
  const out = new Deno.Command("ps", {
    args: ["-o", "pid=,stat=", "-p", pids.join(",")],
    stdout: "piped",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean)
    .map((l) => l.trim().split(/\s+/)).filter(([, stat]) => !stat.startsWith("Z"))
    .map(([p]) => Number(p));
}

/** Whether something listens on the loopback port. */
export function portTaken(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return false;
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return true;
    throw err;
  }
}
