// RSS of a process and all its descendants (worker threads are inside their process already),
// read from /proc: what a daemon really costs the machine, whatever it forks.
import { readFileSync, readdirSync } from 'node:fs';

function children(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // ppid is the 2nd field after the parenthesised command name (which may contain spaces)
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = byParent.get(ppid) ?? [];
      list.push(Number(entry));
      byParent.set(ppid, list);
    } catch {
      /* exited while we looked */
    }
  }
  return byParent;
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The group's current RSS in MiB and how many processes it has. */
export function groupRss(root: number): { mib: number; processes: number } {
  const byParent = children();
  const pids = [root];
  for (let i = 0; i < pids.length; i++) pids.push(...(byParent.get(pids[i]!) ?? []));
  const kb = pids.reduce((sum, pid) => sum + rssKb(pid), 0);
  return { mib: Math.round((kb / 1024) * 10) / 10, processes: pids.length };
}

/** Samples the group's RSS every intervalMs and keeps the peak until stopped. */
export function trackPeakRss(root: number, intervalMs = 200): { stop(): { peakMib: number; processes: number } } {
  let peak = 0;
  let processes = 0;
  const sample = () => {
    const now = groupRss(root);
    if (now.mib > peak) peak = now.mib;
    processes = Math.max(processes, now.processes);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakMib: peak, processes };
    },
  };
}
