/**
 * `npx deno task dev` is four processes: npm exec (node), `sh -c`, `deno task`, the server. A
 * terminal's Ctrl-C reaches them all (one process group), and `deno task` passes SIGINT/SIGTERM
 * on to its child; but a script that stops the `npx` process by its id stops only that one (npm
 * does not pass the signal on), and the server would keep the port. So the server watches the
 * processes that launched it within its own process group, and stops when any of them is gone.
 * Unix systems ask `ps`; on Windows nothing is watched.
 */

interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** A zombie has exited; only its parent has not collected it yet. */
  zombie: boolean;
}

/** `ps` rather than /proc: Deno lets only --allow-all read /proc/<pid>. No pids: every process. */
function ps(pids: number[] = []): ProcStat[] {
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", "pid=,ppid=,pgid=,stat=", ...(pids.length ? ["-p", pids.join(",")] : ["-A"])],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).map((l) => {
      const [pid, ppid, pgid, stat] = l.trim().split(/\s+/);
      return { pid: +pid, ppid: +ppid, pgid: +pgid, zombie: stat.startsWith("Z") };
    });
  } catch {
    return []; // no ps here: nothing is watched
  }
}

/** The processes that launched this one within its process group, nearest first (the last is
 * the command typed: `npx`, or `deno task`), with this process's own status. */
function launcherChain(): { self: ProcStat; launchers: number[] } | null {
  if (Deno.build.os === "windows") return null;
  const all = new Map(ps().map((p) => [p.pid, p]));
  const self = all.get(Deno.pid);
  if (!self) return null;
  const launchers: number[] = [];
  for (let pid = self.ppid; pid > 1 && launchers.length < 16;) {
    const stat = all.get(pid);
    if (!stat || stat.pgid !== self.pgid) break;
    launchers.push(pid);
    pid = stat.ppid;
  }
  return { self, launchers };
}

/** How long after a launcher is seen gone `onGone` is called: see watchLaunchers. */
const GRACE_MS = 250;

/** Calls `onGone` once, when a process that launched this one (in its process group) exits. */
export function watchLaunchers(onGone: () => void, intervalMs = 1_000): void {
  const chain = launcherChain();
  if (!chain || chain.launchers.length === 0) return;
  const { self, launchers } = chain;
  const timer = setInterval(() => {
    const alive = ps(launchers).filter((p) => !p.zombie && p.pgid === self.pgid);
    if (alive.length === launchers.length) return;
    clearInterval(timer);
    // A Ctrl-C reaches the whole group at once, and npm's deno shim dies of it at once: when
    // this (blocking) ps ran just then, the server's own SIGINT is still queued. A moment's grace
    // lets it be handled first, so the stop names the signal, not its consequence.
    Deno.unrefTimer(setTimeout(onGone, GRACE_MS));
  }, intervalMs);
  Deno.unrefTimer(timer);
}

/** Seconds since processes started, on Linux (/proc: clock ticks since boot, read through `cat`
 * since Deno lets only --allow-all read /proc; USER_HZ is 100 on every Linux ABI); empty
 * elsewhere. */
function ages(pids: number[]): Map<number, number> {
  const found = new Map<number, number>();
  if (Deno.build.os !== "linux") return found;
  try {
    const out = new Deno.Command("cat", {
      args: ["/proc/uptime", ...pids.map((p) => `/proc/${p}/stat`)],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const [uptime, ...stats] = new TextDecoder().decode(out.stdout).trim().split("\n");
    const now = Number(uptime.split(" ")[0]);
    for (const stat of stats) {
      // The command name (2nd field) is in parentheses and may hold spaces: count after it.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const started = Number(rest[19]) / 100; // field 22, starttime
      if (Number.isFinite(now) && Number.isFinite(started)) {
        found.set(parseInt(stat), now - started);
      }
    }
  } catch { /* no cat, no /proc: nothing measured */ }
  return found;
}

/** How long ago, in ms, the command that started this process began (the outermost launcher in
 * its process group: `npx`, whose download of Deno counts, or `deno task`), and how long ago this
 * process itself began (Deno's own package downloads count); null where that cannot be read. */
export function startedAgo(): { command: number; process: number } | null {
  const chain = launcherChain();
  if (!chain) return null;
  const outermost = chain.launchers.at(-1) ?? Deno.pid;
  const found = ages([Deno.pid, outermost]);
  const own = found.get(Deno.pid);
  const command = found.get(outermost);
  if (own === undefined || command === undefined) return null;
  return { command: command * 1000, process: own * 1000 };
}
