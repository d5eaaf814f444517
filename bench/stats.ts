/** Small statistics and formatting helpers shared by the benchmark sections. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

/**
 * `a ÷ b` round by round (each round runs both, a moment apart, so the load the machine puts on
 * both cancels out): the median of those ratios and their quartiles. Steadier than the ratio of the
 * two medians, which pairs a client's quiet rounds with the other's busy ones.
 */
export function paired(
  a: readonly number[],
  b: readonly number[],
): { median: number; q1: number; q3: number } {
  const ratios = a.map((x, i) => x / (b[i] as number));
  return { median: median(ratios), q1: quantile(ratios, 0.25), q3: quantile(ratios, 0.75) };
}

/** Half the interquartile range as a share of the median: "±x%" in the tables. */
export function spread(values: readonly number[]): number {
  return (quantile(values, 0.75) - quantile(values, 0.25)) / 2 / median(values);
}

export function fmt(value: number, digits = 0): string {
  return Number.isFinite(value)
    ? value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a";
}

export const pct = (share: number): string => `±${fmt(share * 100, 1)}%`;
export const ratio = (value: number): string => `${fmt(value, 2)}×`;

export function kB(bytes: number): string {
  return `${fmt(bytes / 1000, 1)} kB`;
}

/** A Markdown table; the first row is the header. */
export function table(rows: string[][], align: Array<"l" | "r"> = []): string {
  const [head, ...body] = rows;
  if (!head) return "";
  const sep = head.map((_, i) => (align[i] === "r" ? "---:" : "---"));
  return [head, sep, ...body].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

export function seconds(ms: number): string {
  return `${fmt(ms / 1000, 2)} s`;
}
