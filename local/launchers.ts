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

/** Calls `onGone` once, when a process that launched this one (in its process group) exits. */
export function watchLaunchers(onGone: () => void, intervalMs = 1_000): void {
  if (Deno.build.os === "windows") return;
  const all = new Map(ps().map((p) => [p.pid, p]));
  const self = all.get(Deno.pid);
  if (!self) return;
  const launchers: number[] = [];
  for (let pid = self.ppid; pid > 1 && launchers.length < 16;) {
    const stat = all.get(pid);
    if (!stat || stat.pgid !== self.pgid) break;
    launchers.push(pid);
    pid = stat.ppid;
  }
  if (launchers.length === 0) return;
  const timer = setInterval(() => {
    const alive = ps(launchers).filter((p) => !p.zombie && p.pgid === self.pgid);
    if (alive.length === launchers.length) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  Deno.unrefTimer(timer);
}
