// Training pictures as SVG: vega-lite specs compiled to vega and rendered headless (renderer
// 'none' needs neither a canvas nor a browser), so the CLI can write them anywhere Node runs.
//
// vega and vega-lite are optional dependencies (most of an install's size): a run that draws no
// chart never loads them, and one that would is refused before training when they are absent.
import type { TopLevelSpec } from 'vega-lite';
import { InputError } from '../errors.js';
import type { EpochEntry } from '../run/history.js';

/** One point of a line: x, y and the line it belongs to. */
export interface SeriesPoint {
  x: number;
  y: number;
  series: string;
}

export const PANEL_WIDTH = 560;
export const PANEL_HEIGHT = 220;

/** vega-lite's default palette (tableau10), named here so train/validation keep their colours. */
const TRAIN_COLOR = '#4c78a8';
const VALIDATION_COLOR = '#f58518';

const CHART_PACKAGES = ['vega', 'vega-lite'] as const;

/**
 * Throws an InputError (one line, with the command that fixes it) when vega or vega-lite is not
 * installed. Resolving a package does not load it, so this is cheap enough to call before training.
 */
export function assertChartsAvailable(what: string): void {
  for (const name of CHART_PACKAGES) {
    try {
      import.meta.resolve(name);
    } catch {
      throw chartsMissing(what);
    }
  }
}

function chartsMissing(what: string): InputError {
  return new InputError(`${what} needs the optional packages vega and vega-lite, which are not installed: npm install vega vega-lite`);
}

/** A vega-lite spec (typed as a plain object so that the published types do not need vega-lite). */
export async function renderSvg(spec: object): Promise<string> {
  // Loaded on first use: vega takes most of a second to import, which every CLI run would pay.
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_MODULE_NOT_FOUND') throw chartsMissing('drawing a chart');
    throw error;
  });
  const view = new View(parse(compile(spec as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Loss per epoch and, for classification, accuracy per epoch: one panel each, with a train line
 * and a validation line where validation was measured.
 */
export async function renderTrainingPlot(history: readonly EpochEntry[]): Promise<string> {
  const loss = metricPoints(history, (e) => e.loss, (e) => e.valLoss);
  const panels = [linePanel('Loss', 'loss', loss, { scale: { zero: false } })];
  const accuracy = metricPoints(history, (e) => e.accuracy, (e) => e.valAccuracy);
  if (accuracy.length > 0) panels.push(linePanel('Accuracy', 'accuracy', accuracy, { scale: { zero: false }, axis: { format: '.0%' } }));
  const series = [...new Set([...loss, ...accuracy].map((p) => p.series))];
  const colors = { domain: series, range: series.map((s) => (s === 'train' ? TRAIN_COLOR : VALIDATION_COLOR)) };
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 12,
    vconcat: panels.map((panel) => ({ ...panel, encoding: { ...panel.encoding, color: { ...panel.encoding.color, scale: colors } } })),
    resolve: { scale: { color: 'shared' } },
    config: CHART_CONFIG,
  } as TopLevelSpec);
}

/** Train points for every epoch; validation points only where the entry has one. */
function metricPoints(history: readonly EpochEntry[], train: (e: EpochEntry) => number | null, validation: (e: EpochEntry) => number | null): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const e of history) {
    const value = train(e);
    if (value !== null && Number.isFinite(value)) points.push({ x: e.epoch, y: value, series: 'train' });
  }
  for (const e of history) {
    const value = validation(e);
    if (value !== null && Number.isFinite(value)) points.push({ x: e.epoch, y: value, series: 'validation' });
  }
  return points;
}

export interface AxisOptions {
  scale?: Record<string, unknown>;
  axis?: Record<string, unknown>;
}

/**
 * One line chart: x, y, a colour per series. Points are drawn too when a line has a single point
 * (a one-point line is invisible).
 */
export function linePanel(
  title: string,
  yTitle: string,
  points: readonly SeriesPoint[],
  y: AxisOptions = {},
  x: AxisOptions & { title?: string } = {},
) {
  const counts = new Map<string, number>();
  for (const p of points) counts.set(p.series, (counts.get(p.series) ?? 0) + 1);
  const lonely = [...counts.values()].some((n) => n < 2);
  return {
    title,
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    data: { values: points },
    mark: { type: 'line' as const, point: lonely, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: x.title ?? 'epoch', axis: x.axis ?? { tickMinStep: 1, format: 'd' }, scale: { zero: false, nice: false, ...x.scale } },
      y: { field: 'y', type: 'quantitative' as const, title: yTitle, axis: y.axis ?? {}, scale: y.scale ?? {} },
      color: { field: 'series', type: 'nominal' as const, title: null, sort: null, legend: { orient: 'top' as const } },
    },
  };
}

export const CHART_CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  title: { fontSize: 14, anchor: 'start' as const },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e8e8e8' },
  legend: { labelFontSize: 12, symbolType: 'stroke' as const, labelLimit: 260 },
  view: { stroke: '#ccc' },
};
