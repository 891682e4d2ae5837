// Pictures: the training plot SVG, the compare-modes HTML report, the terminal loss chart, and
// (where chromium is installed) the report as a browser actually draws it.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { lossChart } from '../src/cli/ascii-chart.js';
import { compareModes } from '../src/compare.js';
import type { EpochEntry } from '../src/run/history.js';
import { renderTrainingPlot } from '../src/report/charts.js';
import type { CompareRun } from '../src/compare.js';
import { renderCompareReport } from '../src/report/compare-report.js';
import { tempDir } from './helpers/files.js';

const CHROMIUM = '/usr/bin/chromium';

/** A plausible history: loss falling like e^(−epoch/8), optionally noisy, validation every `valEvery` epochs. */
function history(epochs: number, options: { accuracy?: boolean; valEvery?: number; noise?: number; secondsPerEpoch?: number } = {}): EpochEntry[] {
  return Array.from({ length: epochs }, (_, i) => {
    const epoch = i + 1;
    const loss = 0.05 + Math.exp(-epoch / 8) * (1 + (options.noise ?? 0) * Math.sin(epoch * 2.3));
    const validated = options.valEvery !== undefined && epoch % options.valEvery === 0;
    return {
      epoch,
      loss,
      accuracy: options.accuracy ? 1 - loss / 2 : null,
      valLoss: validated ? loss * 1.1 : null,
      valAccuracy: validated && options.accuracy ? 1 - loss / 1.8 : null,
      samplesPerSec: 1000,
      seconds: epoch * (options.secondsPerEpoch ?? 0.5),
      threads: 1,
      lr: 0.1,
    } as EpochEntry;
  });
}

/** Every opening tag is closed in order: enough to catch a truncated or garbled SVG. */
function assertWellFormed(t: { true(value: boolean, message?: string): void }, markup: string): void {
  const stack: string[] = [];
  for (const [tag] of markup.matchAll(/<[^>]+>/g)) {
    if (tag.startsWith('<!') || tag.startsWith('<?') || tag.endsWith('/>')) continue;
    const name = /^<\/?([\w:-]+)/.exec(tag)?.[1];
    if (!name) return t.true(false, `unreadable tag ${tag}`);
    if (tag.startsWith('</')) {
      const open = stack.pop();
      if (open !== name) return t.true(false, `</${name}> closes <${open}>`);
    } else {
      stack.push(name);
    }
  }
  t.true(stack.length === 0, `unclosed: ${stack.join(', ')}`);
}

/** The line paths vega drew, as the series named in each path's aria-label, and the point count. */
function linePaths(svg: string): { series: string; points: number }[] {
  return [...svg.matchAll(/<path aria-label="[^"]*series: ([^"]*)"[^>]*aria-roledescription="line mark" d="([^"]*)"/g)].map((m) => ({
    series: m[1]!,
    points: (m[2]!.match(/[ML]/g) ?? []).length,
  }));
}

test('the training plot is an SVG with loss and accuracy panels, each with a train and a validation line', async (t) => {
  const svg = await renderTrainingPlot(history(20, { accuracy: true, valEvery: 1 }));
  t.true(svg.startsWith('<svg'));
  t.true(svg.includes('xmlns="http://www.w3.org/2000/svg"'), 'a standalone .svg file needs its namespace');
  assertWellFormed(t, svg);
  t.regex(svg, />Loss</);
  t.regex(svg, />Accuracy</);
  t.deepEqual(linePaths(svg), [
    { series: 'train', points: 20 },
    { series: 'validation', points: 20 },
    { series: 'train', points: 20 },
    { series: 'validation', points: 20 },
  ]);
});

test('the training plot draws validation only where it was measured, and no accuracy panel for regression', async (t) => {
  const svg = await renderTrainingPlot(history(12, { valEvery: 3 }));
  assertWellFormed(t, svg);
  t.notRegex(svg, />Accuracy</);
  t.deepEqual(linePaths(svg), [
    { series: 'train', points: 12 },
    { series: 'validation', points: 4 },
  ]);
  const noValidation = await renderTrainingPlot(history(5));
  t.deepEqual(linePaths(noValidation), [{ series: 'train', points: 5 }]);
});

function runs(): CompareRun[] {
  return [
    { label: 'batch GD', mode: 'batch', batchSize: 1200, history: history(30, { accuracy: true, secondsPerEpoch: 0.01 }).map((e) => ({ ...e, loss: e.loss + 0.6 })), seconds: 0.3 },
    { label: 'mini-batch B=32', mode: 'minibatch', batchSize: 32, history: history(30, { accuracy: true, noise: 0.05, secondsPerEpoch: 0.03 }), seconds: 0.9 },
    { label: 'SGD <1>', mode: 'sgd', batchSize: 1, history: history(30, { accuracy: true, noise: 0.3, secondsPerEpoch: 0.2 }), seconds: 6 },
  ];
}

test('the compare report is one HTML page with both charts and a table row per run', async (t) => {
  const compared = runs();
  const html = await renderCompareReport(compared, { description: 'builtin:spirals & friends' });
  t.true(html.startsWith('<!doctype html>'));
  assertWellFormed(t, html.replace(/<(meta|br)\b[^>]*>/g, ''));
  t.regex(html, /<title>Gradient descent compared: batch GD vs mini-batch \(B = 32\) vs SGD<\/title>/);
  t.true(html.includes('builtin:spirals &amp; friends'));
  t.is(html.match(/<svg/g)?.length, 2);
  t.regex(html, />Cost vs epoch</);
  t.regex(html, />Cost vs wall-clock seconds</);
  t.is(linePaths(html).length, 6, 'three runs on each chart');
  for (const run of compared) {
    const last = run.history[run.history.length - 1]!;
    const row = `<td>${run.label.replace('<', '&lt;').replace('>', '&gt;')}</td><td>${run.mode}</td><td class="number">${run.batchSize}</td><td class="number">30</td>`
      + `<td class="number">${last.loss.toFixed(4)}</td><td class="number">${(last.accuracy! * 100).toFixed(2)}%</td><td class="number">${run.seconds.toFixed(2)}</td>`;
    t.true(html.includes(row), `row for ${run.label}`);
  }
});

test('the compare report is self-contained: no script, no external stylesheet, no URL at all', async (t) => {
  const html = await renderCompareReport(runs());
  t.notRegex(html, /<script/i);
  t.notRegex(html, /<link/i);
  t.notRegex(html, /@import|url\(/i);
  t.notRegex(html, /https?:\/\//i);
  t.regex(html, /<style>/);
});

test('lossChart draws about 8 rows of loss over at most 60 columns, with an epoch line', (t) => {
  const chart = lossChart(history(200, { noise: 0.1 }));
  const lines = chart.split('\n');
  t.is(lines[0]!.trim(), 'loss');
  t.is(lines.length, 1 + 9 + 1, chart);
  for (const line of lines.slice(1, -1)) {
    const axis = line.search(/[┤┼]/);
    t.true(axis > 0 && line.length - axis - 1 <= 60, `curve wider than 60 columns:\n${chart}`);
  }
  t.regex(lines[lines.length - 1]!, /^\s+epoch 1\s+200$/);
  t.is(lossChart([]), '');
  t.is(lossChart(history(3)).split('\n').length, 11);
});

test('compareModes trains batch GD, each mini-batch size and SGD from the same seed', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  const labels: string[] = [];
  const compared = await compareModes({
    data: 'builtin:moons',
    samples: 200,
    layers: [8],
    epochs: 3,
    threads: 1,
    seed: 5,
    valSplit: 0.25,
    out,
    batchSizes: [8, 32],
    onRun: (run, index, count) => labels.push(`${index + 1}/${count} ${run.label}`),
  });
  t.deepEqual(labels, ['1/4 batch GD', '2/4 mini-batch B=8', '3/4 mini-batch B=32', '4/4 SGD']);
  t.deepEqual(compared.map((r) => [r.mode, r.batchSize, r.history.length]), [['batch', 150, 3], ['minibatch', 8, 3], ['minibatch', 32, 3], ['sgd', 1, 3]]);
  for (const run of compared) t.is(run.seconds, run.history[2]!.seconds);
  // Same seed, same data: more steps per epoch make more progress in the first epoch.
  const firstLoss = compared.map((r) => r.history[0]!.loss);
  t.true(firstLoss[3]! < firstLoss[0]!, `SGD ${firstLoss[3]} vs batch ${firstLoss[0]}`);
  t.false(existsSync(out), 'a comparison does not write --out');
});

// ---- the report as chromium draws it (only where chromium is installed) ----

/** RGBA pixels of an 8-bit RGB or RGBA PNG (what chromium writes), unfiltered by hand with zlib. */
function decodePng(png: Buffer): { width: number; height: number; pixel: (x: number, y: number) => [number, number, number] } {
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8) throw new Error(`bit depth ${data[8]}`);
      channels = { 2: 3, 6: 4 }[data[9]!] ?? 0;
      if (!channels) throw new Error(`colour type ${data[9]}`);
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[y * stride + i - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const upLeft = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0;
      const p = left + up - upLeft; // Paeth: whichever neighbour is closest to left + up − upLeft
      const paeth = Math.abs(p - left) <= Math.abs(p - up) && Math.abs(p - left) <= Math.abs(p - upLeft) ? left : Math.abs(p - up) <= Math.abs(p - upLeft) ? up : upLeft;
      const predictor = [0, left, up, (left + up) >> 1, paeth][filter];
      if (predictor === undefined) throw new Error(`filter ${filter}`);
      pixels[y * stride + i] = (line[i]! + predictor) & 0xff;
    }
  }
  return { width, height, pixel: (x, y) => [pixels[y * stride + x * channels]!, pixels[y * stride + x * channels + 1]!, pixels[y * stride + x * channels + 2]!] };
}

const chromiumTest = existsSync(CHROMIUM) ? test : test.skip;
const chromiumTitle = `chromium renders the compare report with visible, coloured charts${existsSync(CHROMIUM) ? '' : ' (skipped: /usr/bin/chromium not installed)'}`;

chromiumTest(chromiumTitle, async (t) => {
  const dir = await tempDir();
  const page = join(dir, 'report.html');
  const screenshot = join(dir, 'report.png');
  await writeFile(page, await renderCompareReport(runs()));
  const run = spawnSync(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${join(dir, 'profile')}`, `--screenshot=${screenshot}`, '--window-size=1200,1600', pathToFileURL(page).href],
    { encoding: 'utf8', timeout: 90_000 },
  );
  await rm(join(dir, 'profile'), { recursive: true, force: true });
  t.true(existsSync(screenshot), `no screenshot; chromium exited ${run.status}: ${run.stderr.slice(-500)}`);
  const image = decodePng(await readFile(screenshot));
  t.deepEqual([image.width, image.height], [1200, 1600]);
  let ink = 0;
  let coloured = 0;
  for (let y = 0; y < image.height; y += 2) {
    for (let x = 0; x < image.width; x += 2) {
      const [r, g, b] = image.pixel(x, y);
      if (r < 235 || g < 235 || b < 235) ink++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++; // a run's line, not black text or grey grid
    }
  }
  const sampled = (image.width / 2) * (image.height / 2);
  t.log(`${ink} of ${sampled} sampled pixels not white, ${coloured} coloured`);
  t.true(ink / sampled > 0.01, `only ${ink} of ${sampled} sampled pixels are not white`);
  t.true(coloured > 200, `only ${coloured} coloured pixels: the chart lines are missing`);
});
