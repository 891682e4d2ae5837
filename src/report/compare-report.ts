// One self-contained HTML page comparing training runs (batch GD, mini-batch sizes, SGD): two
// inline SVG charts and a summary table. No script, no external stylesheet, font or image, so the
// file can be mailed, archived or opened offline and still look the same.
import { COMPARE_CALLBACKS, compareModes, type CompareOptions, type CompareRun } from '../compare.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkPathOptions } from '../options/paths.js';
import { resolveOptions } from '../options/resolve.js';
import type { EpochEntry } from '../run/history.js';
import { CHART_CONFIG, assertChartsAvailable, linePanel, renderSvg, type SeriesPoint } from './charts.js';

export interface CompareReportOptions {
  /** Defaults to a title naming the compared modes and batch sizes. */
  title?: string | undefined;
  /** A line under the title, e.g. the data set and network. */
  description?: string | undefined;
}

export async function renderCompareReport(runs: readonly CompareRun[], options: CompareReportOptions = {}): Promise<string> {
  const title = options.title ?? defaultTitle(runs);
  const labels = runs.map((run) => run.label);
  const byEpoch = await renderChart('Cost vs epoch', 'epoch', labels, points(runs, (e) => e.epoch), { tickMinStep: 1, format: 'd' });
  const bySeconds = await renderChart('Cost vs wall-clock seconds', 'wall-clock seconds since training started', labels, points(runs, (e) => e.seconds), { format: '~g' });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
${STYLE}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${options.description ? `<p class="description">${escapeHtml(options.description)}</p>\n` : ''}<figure id="cost-vs-epoch">
${inlineSvg(byEpoch)}
</figure>
<figure id="cost-vs-seconds">
${inlineSvg(bySeconds)}
</figure>
${summaryTable(runs)}
</body>
</html>
`;
}

/** "Batch GD vs mini-batch (B = 32, 128) vs SGD", in the order the runs came. */
function defaultTitle(runs: readonly CompareRun[]): string {
  const parts: string[] = [];
  const miniBatchSizes = runs.filter((r) => r.mode === 'minibatch').map((r) => r.batchSize);
  for (const run of runs) {
    const part = run.mode === 'batch' ? 'batch GD' : run.mode === 'sgd' ? 'SGD' : `mini-batch (B = ${miniBatchSizes.join(', ')})`;
    if (!parts.includes(part)) parts.push(part);
  }
  const text = parts.join(' vs ');
  return `Gradient descent compared: ${text}`;
}

/** Training loss per run against one x quantity; non-finite losses (a diverged run) are left out. */
function points(runs: readonly CompareRun[], x: (e: EpochEntry) => number): SeriesPoint[] {
  return runs.flatMap((run) => run.history.filter((e) => Number.isFinite(e.loss)).map((e) => ({ x: x(e), y: e.loss, series: run.label })));
}

/** Wide enough for the page's 900 pixels once the axis labels are added. */
const CHART_WIDTH = 760;

async function renderChart(title: string, xTitle: string, labels: readonly string[], data: SeriesPoint[], xAxis: Record<string, unknown>): Promise<string> {
  // Losses often end an order of magnitude or more apart; a log scale keeps the low ones apart.
  const losses = data.map((p) => p.y);
  const [low, high] = [Math.min(...losses), Math.max(...losses)];
  const logScale = losses.length > 0 && low > 0 && high / low > 10;
  // A little room above and below, so that no line runs along the frame.
  const y = logScale ? { scale: { type: 'log', nice: false, domain: [low / 1.15, high * 1.15] } } : { scale: { zero: false } };
  const panel = linePanel(title, logScale ? 'training loss (log scale)' : 'training loss', data, y, { title: xTitle, axis: xAxis });
  // Keep the runs' order (batch, mini-batches, SGD) in the legend and the colours.
  const color = { ...panel.encoding.color, scale: { domain: [...labels] } };
  const spec = { background: 'white', padding: 12, ...panel, width: CHART_WIDTH, encoding: { ...panel.encoding, color }, config: CHART_CONFIG };
  return renderSvg(spec);
}

function summaryTable(runs: readonly CompareRun[]): string {
  const rows = runs.map((run) => {
    const last = run.history[run.history.length - 1];
    const cells = [
      escapeHtml(run.label),
      escapeHtml(run.mode),
      String(run.batchSize),
      String(run.history.length),
      last ? formatNumber(last.loss, 4) : '–',
      last && last.accuracy !== null ? `${(last.accuracy * 100).toFixed(2)}%` : '–',
      run.seconds.toFixed(2),
    ];
    return `<tr>${cells.map((cell, i) => (i < 2 ? `<td>${cell}</td>` : `<td class="number">${cell}</td>`)).join('')}</tr>`;
  });
  const headers = ['run', 'mode', 'batch size', 'epochs', 'final loss', 'final accuracy', 'total seconds'];
  return `<table>
<thead><tr>${headers.map((h, i) => `<th${i < 2 ? '' : ' class="number"'}>${h}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

function formatNumber(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : String(value);
}

/** An SVG inside HTML needs no namespace declarations; dropping them leaves no URL in the page. */
function inlineSvg(svg: string): string {
  return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 900px; color: #222; background: white; }
h1 { font-size: 22px; font-weight: 600; margin: 0 0 4px; }
.description { color: #555; margin: 0 0 16px; }
figure { margin: 16px 0; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin-top: 16px; font-size: 14px; }
th, td { padding: 4px 12px; border-bottom: 1px solid #ddd; text-align: left; }
th { border-bottom: 2px solid #888; }
.number { text-align: right; font-variant-numeric: tabular-nums; }`;

/**
 * compare-modes as the library and the CLI run it: the runs, then their report written to
 * options.out (atomically, through the write guard) unless no run finished an epoch (stopped before
 * the first). The out path is checked against the data first and the data protected meanwhile.
 */
export async function compareModesWithReport(options: CompareOptions): Promise<{ runs: CompareRun[]; written: string | null }> {
  const resolved = resolveOptions('compare-modes', options, COMPARE_CALLBACKS);
  const out = resolved.out!;
  const protection = await checkPathOptions('compare-modes', resolved);
  try {
    assertChartsAvailable('compare-modes');
    const runs = await compareModes(options);
    if (runs.every((run) => run.history.length === 0)) return { runs, written: null };
    const description = `${typeof resolved.data === 'string' ? resolved.data : 'data in memory'}, layers ${resolved.layers.join(',')}, ${resolved.activation}, lr ${resolved.lr}, ${resolved.epochs} epochs, seed ${resolved.seed}`;
    await writeFileAtomic(out, await renderCompareReport(runs, { description }));
    return { runs, written: out };
  } finally {
    protection.release();
  }
}
