// What a running gateway or daemon says about itself: its /metrics and its JSON log lines.

/** Sum of every sample of a counter/gauge in a gateway's /metrics whose labels contain `labels`. */
export async function scrape(httpUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labels && !line.includes(labels)) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/** How many of a daemon's JSON log lines carry this exact message. */
export function logCount(output: string, msg: string): number {
  let n = 0;
  for (const line of output.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      if ((JSON.parse(line) as { msg?: string }).msg === msg) n++;
    } catch {
      /* not a JSON line */
    }
  }
  return n;
}
