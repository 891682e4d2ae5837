// A small loss curve for the terminal, drawn after training with asciichart.
import asciichart from 'asciichart';
import type { EpochEntry } from '../run/history.js';

/** Rows of the chart: enough to see the shape, few enough to keep the epoch lines on screen. */
const CHART_HEIGHT = 8;

/**
 * Loss per epoch as a text chart: `width` columns of curve (a longer history is sampled at evenly
 * spaced epochs, always keeping the first and the last) plus the axis labels, then an epoch line.
 * Epochs whose loss is not finite (a diverged run) are left out; with none left it returns ''.
 */
export function lossChart(history: readonly EpochEntry[], width = 60): string {
  const points = history.filter((e) => Number.isFinite(e.loss));
  if (points.length === 0) return '';
  const sampled = sampleEvenly(points, Math.max(2, Math.floor(width)));
  const losses = sampled.map((e) => e.loss);
  let min = Math.min(...losses);
  let max = Math.max(...losses);
  if (max - min < 1e-12) {
    // asciichart labels a flat series by row number, not value: give it a range to centre the line in.
    const margin = Math.abs(max) * 0.01 || 0.01;
    [min, max] = [min - margin, max + margin];
  }
  // Enough decimals that neighbouring rows get different labels.
  const decimals = Math.min(8, Math.max(2, Math.ceil(-Math.log10((max - min) / CHART_HEIGHT || 1)) + 1));
  const labelWidth = Math.max(...[min, max].map((v) => v.toFixed(decimals).length)) + 1;
  const plot = asciichart.plot(losses, { height: CHART_HEIGHT, min, max, format: (value) => value.toFixed(decimals).padStart(labelWidth) });
  const first = `epoch ${sampled[0]!.epoch}`;
  const last = sampled.length > 1 ? String(sampled[sampled.length - 1]!.epoch) : '';
  const gap = last ? Math.max(1, sampled.length - first.length - last.length) : 0;
  // The curve starts at the axis, one space right of the labels; the last epoch ends under its point.
  const footer = `${' '.repeat(labelWidth + 1)}${first}${' '.repeat(gap)}${last}`;
  return `${' '.repeat(Math.max(0, labelWidth - 4))}loss\n${plot}\n${footer}`;
}

/** At most `count` items, evenly spaced, first and last included. */
function sampleEvenly<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, k) => items[Math.round((k * (items.length - 1)) / (count - 1))]!);
}
