/**
 * `npx deno task dev` is four processes: npm exec (node), `sh -c`, `deno task`, the server. A
 * terminal's Ctrl-C reaches them all (one process group), and `deno task` passes SIGINT/SIGTERM
 * on to its child; but a script that stops the `npx` process by its id stops only that one (npm
 * does not pass the signal on), and the server would keep the port. So the server watches the
 * processes that launched it within its own process group, and stops when any of them is gone.
 * Linux reads /proc; other Unix systems ask `ps`; on Windows nothing is watched.
 */

interface ProcStat {
  ppid: number;
  pgid: number;
  /** A zombie has exited; only its parent has not collected it yet. */
  zombie: boolean;
}

function procStat(pid: number): ProcStat | null {
  try {
    if (Deno.build.os === "linux") {
      const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const [state, ppid, pgid] = text.slice(text.lastIndexOf(")") + 2).split(" ");
      return { ppid: Number(ppid), pgid: Number(pgid), zombie: state === "Z" };
    }
    const out = new Deno.Command("ps", {
      args: ["-o", "ppid=,pgid=,stat=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const [ppid, pgid, state] = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
    return out.success && ppid
      ? { ppid: +ppid, pgid: +pgid, zombie: state?.startsWith("Z") }
      : null;
  } catch {
    return null;
  }
}

/** Calls `onGone` once, when a process that launched this one (in its process group) exits. */
export function watchLaunchers(onGone: () => void, intervalMs = 500): void {
  if (Deno.build.os === "windows") return;
  const self = procStat(Deno.pid);
  if (!self) return;
  const launchers: number[] = [];
  for (let pid = self.ppid; pid > 1 && launchers.length < 16;) {
    const stat = procStat(pid);
    if (!stat || stat.pgid !== self.pgid) break;
    launchers.push(pid);
    pid = stat.ppid;
  }
  if (launchers.length === 0) return;
  const alive = (pid: number) => {
    const stat = procStat(pid);
    return stat !== null && !stat.zombie && stat.pgid === self.pgid;
  };
  const timer = setInterval(() => {
    if (launchers.every(alive)) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  Deno.unrefTimer(timer);
}
