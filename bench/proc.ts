/** CPU time and memory of live processes, read from /proc (Linux only). */

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux the bench runs on.

interface Stat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: children already reaped. */
  reaped: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null; // gone
  }
  // The command name (field 2) is in parentheses and may contain spaces.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state): field n is f[n - 3].
  return {
    ppid: Number(f[1]),
    own: Number(f[11]) + Number(f[12]),
    reaped: Number(f[13]) + Number(f[14]),
  };
}

function allStats(): Map<number, Stat> {
  const stats = new Map<number, Stat>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readStat(Number(entry.name));
    if (stat) stats.set(Number(entry.name), stat);
  }
  return stats;
}

/** `root` and every live descendant. */
export function processTree(root: number): number[] {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...children.get(s.ppid) ?? [], pid]);
  const out: number[] = [];
  const queue = stats.has(root) ? [root] : [];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...children.get(pid) ?? []);
  }
  return out;
}

/** CPU seconds used so far by `root` and all its descendants, exited ones included: the root's
 * own time and its reaped children's, plus each live descendant's own time. Subtract two readings
 * to get what a tree used in between, even when processes came and went. */
export function treeCpuSeconds(root: number): number {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...children.get(s.ppid) ?? [], pid]);
  let ticks = 0;
  const queue = stats.has(root) ? [root] : [];
  while (queue.length) {
    const pid = queue.shift()!;
    const s = stats.get(pid)!;
    ticks += s.own + s.reaped;
    queue.push(...children.get(pid) ?? []);
  }
  return ticks / TICKS_PER_SECOND;
}

/** A field of /proc/<pid>/status in MB (VmRSS: resident now; VmHWM: peak resident). */
export function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1]);
  return kb / 1024;
}

/** Starts the process's peak resident set (VmHWM) over from what it holds now (Linux's
 * clear_refs "5"), so a later VmHWM is the peak of what ran since, not of start-up. */
export function resetPeakRss(pid: number): void {
  Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
}

/** The process's command line, for finding the right process in a tree. */
export function commandLine(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return [];
  }
}
