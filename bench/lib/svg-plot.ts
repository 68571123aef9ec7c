// A dependency-free SVG of stacked time-series panels, readable at a glance: one panel per
// quantity, shared time axis, each series labelled with its last and peak value.

export interface Series {
  label: string;
  color: string;
  points: [number, number | null][];
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
  /** a horizontal line (e.g. a budget), drawn dashed and labelled */
  limit?: { value: number; label: string };
}

const W = 900;
const PANEL_H = 180;
const LEFT = 70;
const RIGHT = 220;
const TOP = 40;
const GAP = 50;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function plotSvg(title: string, subtitle: string, panels: Panel[]): string {
  const tMax = Math.max(1, ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([t]) => t))));
  const height = TOP + panels.length * (PANEL_H + GAP) + 10;
  const plotW = W - LEFT - RIGHT;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${LEFT}" y="33" fill="#555">${esc(subtitle)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = TOP + i * (PANEL_H + GAP) + 20;
    const values = panel.series.flatMap((s) => s.points.map(([, v]) => v).filter((v): v is number => v !== null));
    const yMax = niceMax(Math.max(panel.limit?.value ?? 0, ...values, 0) * 1.05);
    const x = (t: number) => LEFT + (t / tMax) * plotW;
    const y = (v: number) => y0 + PANEL_H - (v / yMax) * PANEL_H;
    out.push(`<text x="${LEFT}" y="${y0 - 6}" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`);
    out.push(`<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
    for (let k = 0; k <= 4; k++) {
      const v = (yMax * k) / 4;
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
      out.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
    }
    for (let k = 0; k <= 5; k++) {
      const t = (tMax * k) / 5;
      out.push(`<text x="${x(t)}" y="${y0 + PANEL_H + 15}" text-anchor="middle" fill="#555">${fmt(t)} s</text>`);
    }
    if (panel.limit) {
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(panel.limit.value)}" y2="${y(panel.limit.value)}" stroke="#c00" stroke-dasharray="6 4"/>`);
      out.push(`<text x="${LEFT + plotW - 4}" y="${y(panel.limit.value) - 4}" text-anchor="end" fill="#c00">${esc(panel.limit.label)}</text>`);
    }
    panel.series.forEach((s, j) => {
      const pts = s.points.filter((p): p is [number, number] => p[1] !== null);
      if (pts.length) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
      const last = pts.at(-1)?.[1];
      const peak = pts.length ? Math.max(...pts.map(([, v]) => v)) : undefined;
      const ly = y0 + 14 + j * 32;
      out.push(`<rect x="${LEFT + plotW + 12}" y="${ly - 9}" width="10" height="10" fill="${s.color}"/>`);
      out.push(`<text x="${LEFT + plotW + 28}" y="${ly}">${esc(s.label)}</text>`);
      out.push(`<text x="${LEFT + plotW + 28}" y="${ly + 14}" fill="#555">last ${last === undefined ? '–' : fmt(last)} · peak ${peak === undefined ? '–' : fmt(peak)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
