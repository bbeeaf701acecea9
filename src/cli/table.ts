/** Plain-text tables in the style of `calicoctl node status` (+---+ borders, centred headers). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const out = [line, `| ${headers.map((h, i) => centre(h, widths[i])).join(' | ')} |`, line];
  for (const r of rows) out.push(`| ${r.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ')} |`);
  out.push(line);
  return out.join('\n');
}
