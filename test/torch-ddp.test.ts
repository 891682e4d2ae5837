// The torchrun tier: an exported run under real torchrun with 2 gloo processes on this machine,
// against gradpool's own `train --init` of the same model and flags. Runs where /usr/bin/python3
// has torch (Debian: apt-get install python3-torch, which ships torchrun with gloo); elsewhere it
// says what it skipped. GRADPOOL_TORCH_TIER=0 skips it on purpose.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gaussian, randomStream } from '../src/data/random.js';
import { loadModel, type Model } from '../src/index.js';
import { runCli, tempDir } from './helpers/cli.js';
import { csvText, housesTable, splitTable, titanicTable, writeTable, type Table } from './helpers/tabular.js';

const PYTHON = '/usr/bin/python3';
const TORCHRUN = '/usr/bin/torchrun';

function torchMissing(): string | null {
  if (process.env.GRADPOOL_TORCH_TIER === '0') return 'GRADPOOL_TORCH_TIER=0';
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  if (!existsSync(TORCHRUN)) return `no ${TORCHRUN} (apt-get install python3-torch)`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torch.distributed as d; assert d.is_available() and d.is_gloo_available()'], { encoding: 'utf8', timeout: 60_000 });
  return probe.status === 0 ? null : `${PYTHON} has no torch with gloo (apt-get install python3-torch): ${(probe.stderr || '').trim().split('\n').at(-1) ?? ''}`;
}

const missing = torchMissing();
const tier = missing === null ? test : test.skip;
if (missing !== null) {
  test('torchrun tier: skipped', (t) => {
    t.log(`skipped the torchrun tier (first step, accuracy, predictions against PyTorch): ${missing}`);
    t.pass();
  });
}

interface Run {
  code: number | null;
  output: string;
}

/**
 * torchrun with 2 processes on this machine. --redirects/--tee 2 (stderr teed through a log file):
 * Debian's torch 1.13 under Python 3.11 cannot start with their default 0 (an enum change), and they
 * are valid everywhere; --monitor_interval 1 ends the run a second after the workers, not five.
 */
async function torchrun(dir: string, args: string[]): Promise<Run> {
  // --standalone's rendezvous port is fixed in torch 1.13 (29400): runs side by side take a free one each.
  const port = await freePort();
  return launch(dir, ['--nnodes=1', '--nproc_per_node=2', '--rdzv_backend=c10d', `--rdzv_endpoint=127.0.0.1:${port}`], args, 'torchrun-logs');
}

/** Two torchrun agents, one process each, as the README's several-machines command starts them (c10d rendezvous). */
async function torchrunTwoNodes(dir: string, args: string[]): Promise<Run[]> {
  const port = await freePort();
  return Promise.all(
    [0, 1].map((node) => launch(dir, ['--nnodes=2', '--nproc_per_node=1', `--node_rank=${node}`, '--rdzv_backend=c10d', `--rdzv_endpoint=127.0.0.1:${port}`, '--rdzv_id=gradpool-test'], args, `node${node}-logs`)),
  );
}

function launch(dir: string, placement: string[], args: string[], logs: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(TORCHRUN, [...placement, '--redirects', '2', '--tee', '2', '--monitor_interval', '1', '--log_dir', join(dir, logs), join(dir, 'train_ddp.py'), ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Titanic-like rows (ids, categories, missing ages and ports) with a booking date: every kind of column the schema has. */
function withDates(table: Table): Table {
  return {
    header: [...table.header.slice(0, -1), 'booked', table.header.at(-1)!],
    rows: table.rows.map((row, r) => [...row.slice(0, -1), `1912-0${1 + (r % 4)}-${String(1 + ((r * 7) % 28)).padStart(2, '0')}`, row.at(-1)!]),
  };
}

/**
 * A spreadsheet export (generated): money with currency signs, grouping and accounting negatives
 * ($1,234.50, ($45.00)), percents, leading +, day-first slashed dates with a time of day (month,
 * weekday and hour parts), dotted dates, times alone, a city column of many levels (the rare ones
 * and unseen ones: "other"), missing cells; two targets (spend, visits) or a class (churned).
 */
function spreadsheetTable(rows: number, seed: number): Table {
  const random = randomStream(seed, 'spreadsheet');
  const money = (v: number): string => {
    const text = `$${Math.abs(v).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    return v < 0 ? `(${text})` : text;
  };
  const pad = (n: number): string => String(n).padStart(2, '0');
  const out: (string | number)[][] = [];
  for (let r = 0; r < rows; r++) {
    const income = Math.round((20_000 + random() * 180_000 - (random() < 0.1 ? 230_000 : 0)) * 100) / 100;
    const rate = Math.round(random() * 400) / 10;
    const change = Math.round((random() - 0.5) * 800) / 100;
    const [day, month, hour, minute] = [1 + Math.floor(random() * 28), 1 + Math.floor(random() * 12), Math.floor(random() * 24), Math.floor(random() * 60)];
    const joined = random() < 0.08 ? '' : `${pad(day)}/${pad(month)}/20${pad(10 + Math.floor(random() * 14))} ${pad(hour)}:${pad(minute)}`;
    const renewed = `${1 + Math.floor(random() * 28)}.${1 + Math.floor(random() * 12)}.2023`;
    const opens = `${1 + Math.floor(random() * 12)}:${pad(Math.floor(random() * 4) * 15)} ${random() < 0.5 ? 'AM' : 'PM'}`;
    const city = random() < 0.8 ? `city-${Math.floor(random() * 25)}` : `town-${Math.floor(random() * 100)}`;
    const spend = Math.round((income / 1000 + rate * 3 + (month > 6 ? 40 : 0) + gaussian(random) * 10) * 100) / 100;
    const visits = Math.round((hour / 2 + change + (city < 'city-1' ? 5 : 0) + gaussian(random)) * 10) / 10;
    const churned = spend + gaussian(random) * 30 < 150 ? 'yes' : 'no';
    out.push([money(income), `${rate}%`, change > 0 ? `+${change}` : change, joined, renewed, opens, city, spend, visits, churned]);
  }
  return { header: ['income', 'rate', 'change', 'joined', 'renewed', 'opens', 'city', 'spend', 'visits', 'churned'], rows: out };
}

/** The table without the columns named (a target the run does not use). */
function without(table: Table, ...names: string[]): Table {
  const keep = table.header.map((name, c) => (names.includes(name) ? -1 : c)).filter((c) => c >= 0);
  return { header: keep.map((c) => table.header[c]!), rows: table.rows.map((row) => keep.map((c) => row[c]!)) };
}

/** The schema fields and model fields beyond the first torch export's that a model uses. */
function newerFields(model: Model): string[] {
  const columns = model.schema?.columns ?? [];
  const has = (test: (c: (typeof columns)[number]) => boolean): boolean => columns.some(test);
  const fields: [string, boolean][] = [
    ['format', has((c) => c.kind === 'numeric' && c.format !== undefined)],
    ['order', has((c) => c.kind === 'date' && c.order !== undefined)],
    ['parts', has((c) => c.kind === 'date' && (c.parts?.length ?? 0) > 0)],
    ['partFills', has((c) => c.kind === 'date' && c.partFills !== undefined)],
    ['other', has((c) => c.kind === 'categorical' && c.other === true)],
    ['labels', columns.filter((c) => c.kind === 'label').length > 1],
    ['perTarget', model.targetScaling?.perTarget !== undefined],
    ['classWeights', model.shape.classWeights !== undefined],
  ];
  return fields.filter(([, used]) => used).map(([field]) => field);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function startingModel(dir: string, data: string, extra: string[]): Promise<string> {
  const model = join(dir, 'start.json');
  const trained = await runCli(['train', '--data', data, '--layers', '12', '--epochs', '1', '--seed', '3', '--quiet', '--out', model, ...extra]);
  if (trained.code !== 0) throw new Error(trained.stderr);
  return model;
}

// The regression run also holds each rank's share of the rows only (--shard-data): a full batch is
// still the whole training set, so its step is the same. The schema's newer fields each come in
// one run: formatted numbers, non-ISO dates with parts, an "other" level, several targets, class weights.
for (const [name, table, extra, runFlags, scriptFlags, twoNodes, fields] of [
  ['classification (categories, dates, imputed cells), also from two torchrun agents joined as two nodes', withDates(titanicTable(900, 5)), ['--missing', 'impute'], [], [], true, ['parts', 'partFills']],
  ['regression (scaled target), each rank holding its share of the rows', housesTable(600, 6), [], [], ['--shard-data'], false, []],
  [
    'two targets of a spreadsheet export (currency, percents, day-first dates with parts, times, a capped category with "other", imputed cells)',
    without(spreadsheetTable(600, 8), 'churned'),
    ['--missing', 'impute', '--label-column', 'spend,visits'],
    [],
    [],
    false,
    ['format', 'order', 'parts', 'partFills', 'other', 'labels', 'perTarget'],
  ],
  [
    'classes weighted as balanced (--class-weight balanced), each rank holding its share of the rows',
    without(spreadsheetTable(500, 9), 'spend', 'visits'),
    ['--missing', 'impute'],
    ['--class-weight', 'balanced'],
    ['--shard-data'],
    false,
    ['format', 'order', 'parts', 'partFills', 'other', 'classWeights'],
  ],
] as const) {
  tier(`torchrun: the first full-batch step of 2 gloo processes matches gradpool's within 1e-5 — ${name}`, async (t) => {
    const dir = await tempDir();
    const data = await writeTable(dir, 'train.csv', table);
    const start = await startingModel(dir, data, [...extra]);
    const flags = ['--mode', 'batch', '--epochs', '1', '--lr', '0.5', ...runFlags];
    const exported = await runCli(['export', '--format', 'torch', '--init', start, '--data', data, ...flags, '--out', join(dir, 'run')]);
    t.is(exported.code, 0, exported.stderr);
    const ours = await runCli(['train', '--init', start, '--data', data, ...flags, '--quiet', '--out', join(dir, 'gradpool.json')]);
    t.is(ours.code, 0, ours.stderr);
    const run = await torchrun(join(dir, 'run'), ['--out', join(dir, 'torch.safetensors'), ...scriptFlags]);
    t.is(run.code, 0, run.output);
    t.regex(run.output, scriptFlags.length ? /2 ranks on cpu; each rank holds its share/ : /2 ranks on cpu; each rank holds all of them/);
    const [before, gradpool, torch] = await Promise.all([start, join(dir, 'gradpool.json'), join(dir, 'torch.safetensors')].map((p) => loadModel(p)));
    // The run uses the fields it is meant to; PyTorch's model records the same class weights as gradpool's.
    t.deepEqual(newerFields(gradpool!), [...fields]);
    t.deepEqual(torch!.shape.classWeights, gradpool!.shape.classWeights);
    const moved = maxDifference(before!.parameters, gradpool!.parameters);
    t.true(moved > 1e-3, `the step moved the weights by ${moved}`);
    const difference = maxDifference(gradpool!.parameters, torch!.parameters);
    t.log(`largest weight difference after one step: ${difference.toExponential(2)} (the step moved weights by up to ${moved.toFixed(4)})`);
    t.true(difference <= 1e-5, `${difference}`);
    if (twoNodes) {
      // The same step from two torchrun agents joined as two nodes.
      const nodes = await torchrunTwoNodes(join(dir, 'run'), ['--out', join(dir, 'nodes.safetensors')]);
      for (const node of nodes) t.is(node.code, 0, node.output);
      const twoNodes = await loadModel(join(dir, 'nodes.safetensors'));
      t.true(maxDifference(gradpool!.parameters, twoNodes.parameters) <= 1e-5);
    }
  });
}

tier('torchrun: after a few epochs the test accuracy is within 1 point of gradpool, and the model comes back predicting as PyTorch does', async (t) => {
  const dir = await tempDir();
  const [trainRows, testRows] = splitTable(withDates(titanicTable(1500, 7)), 0.25, 7);
  const data = await writeTable(dir, 'train.csv', trainRows);
  const testData = await writeTable(dir, 'test.csv', testRows);
  const start = await startingModel(dir, data, ['--missing', 'impute']);
  const flags = ['--epochs', '6', '--batch-size', '50', '--optimizer', 'adam', '--lr', '0.01', '--lr-schedule', 'cosine', '--val-split', '0.2', '--patience', '3', '--test-data', testData];
  t.is((await runCli(['export', '--format', 'torch', '--init', start, '--data', data, ...flags, '--out', join(dir, 'run')])).code, 0);
  const ours = await runCli(['train', '--init', start, '--data', data, ...flags, '--quiet', '--log-json', join(dir, 'gradpool.jsonl'), '--out', join(dir, 'gradpool.json')]);
  t.is(ours.code, 0, ours.stderr);
  const run = await torchrun(join(dir, 'run'), ['--out', join(dir, 'trained.safetensors'), '--log-json', join(dir, 'torch.jsonl')]);
  t.is(run.code, 0, run.output);
  const done = async (file: string): Promise<{ testAccuracy: number; stopReason: string }> => JSON.parse((await readFile(file, 'utf8')).trim().split('\n').at(-1)!);
  const [g, p] = [await done(join(dir, 'gradpool.jsonl')), await done(join(dir, 'torch.jsonl'))];
  t.log(`test accuracy: gradpool ${(100 * g.testAccuracy).toFixed(2)}%, torchrun ${(100 * p.testAccuracy).toFixed(2)}% (${testRows.rows.length} rows)`);
  t.true(Math.abs(g.testAccuracy - p.testAccuracy) <= 0.01, `${g.testAccuracy} vs ${p.testAccuracy}`);
  t.is(p.stopReason, g.stopReason);

  // Back into gradpool: import, then predict, against PyTorch's own forward of the same file.
  const imported = await runCli(['import', join(dir, 'trained.safetensors'), '--out', join(dir, 'trained.json')]);
  t.is(imported.code, 0, imported.stderr);
  // It knows the rows it held out for validation, as gradpool's own model does.
  t.deepEqual((await loadModel(join(dir, 'trained.json'))).heldOut, (await loadModel(join(dir, 'gradpool.json'))).heldOut);
  t.is((await runCli(['predict', '--model', join(dir, 'trained.json'), '--data', testData, '--out', join(dir, 'predictions.csv')])).code, 0);
  // evaluate reads torch's file directly and finds its test accuracy; the ONNX export takes it too.
  const evaluated = await runCli(['evaluate', '--model', join(dir, 'trained.safetensors'), '--data', testData, '--json']);
  t.is(evaluated.code, 0, evaluated.stderr);
  t.true(Math.abs((JSON.parse(evaluated.stdout) as { accuracy: number }).accuracy - p.testAccuracy) <= 1 / testRows.rows.length);
  t.is((await runCli(['export', '--model', join(dir, 'trained.json'), '--format', 'onnx', '--out', join(dir, 'trained.onnx')])).code, 0);
  const torchProbabilities = await torchForward(dir, join(dir, 'trained.safetensors'), testData);
  const lines = (await readFile(join(dir, 'predictions.csv'), 'utf8')).trim().split('\n').slice(1);
  t.is(lines.length, torchProbabilities.length);
  let worst = 0;
  lines.forEach((line, r) => (worst = Math.max(worst, Math.abs(Number(line.split(',')[2]) - torchProbabilities[r]!))));
  t.log(`largest difference between gradpool predict and PyTorch's forward: ${worst.toExponential(2)}`);
  t.true(worst <= 1e-5, `${worst}`);
});

/** PyTorch's forward of `model` over `data` as train_ddp.py reads it (outputs per row, flattened). */
async function torchForward(dir: string, model: string, data: string, flags: string[] = []): Promise<number[]> {
  const script = join(dir, 'forward.py');
  await writeFile(
    script,
    [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(dir, 'run'))})`,
      'import torch, model, train_ddp',
      'net, metadata = model.load(sys.argv[1])',
      'table = train_ddp.read_table(sys.argv[2], metadata, train_ddp.parse_args(["--data", sys.argv[2], *sys.argv[3:]]), labelled=False)',
      'with torch.no_grad():',
      '    print(json.dumps(net.outputs(table.x).reshape(-1).tolist()))',
    ].join('\n'),
  );
  const forward = spawnSync(PYTHON, [script, model, data, ...flags], { encoding: 'utf8', timeout: 120_000 });
  if (forward.status !== 0) throw new Error(forward.stderr);
  return JSON.parse(forward.stdout) as number[];
}

/** gradpool predict's probability per row of each file against PyTorch's forward of the file as train_ddp.py reads it, within 1e-5. */
async function predictsAsPyTorch(t: ExecutionContext, dir: string, model: string, files: string[]): Promise<void> {
  for (const file of files) {
    const out = join(dir, 'p.csv');
    const predicted = await runCli(['predict', '--model', model, '--data', file, '--out', out]);
    t.is(predicted.code, 0, predicted.stderr);
    const ours = (await readFile(out, 'utf8')).trim().split('\n').slice(1).map((line) => Number(line.split(',').at(-1)));
    const theirs = await torchForward(dir, model, file);
    t.is(theirs.length, ours.length);
    t.true(ours.every((p, r) => Math.abs(p - theirs[r]!) <= 1e-5), file);
  }
}

tier('the script reads a file as gradpool does: semicolons, decimal commas, quoted cells, numbers as levels, a file without a header', async (t) => {
  const dir = await tempDir();
  const table = withDates(titanicTable(400, 9));
  // A quoted port name with the delimiter in it, and the class column one-hot by its numbers.
  const quoted: Table = { header: table.header, rows: table.rows.map((row) => row.map((cell, c) => (c === 5 && cell === 'Q' ? 'Queens; town' : cell))) };
  const data = join(dir, 'semicolons.csv');
  await writeFile(data, csvText(quoted, { delimiter: ';', decimalComma: true }));
  const headless = join(dir, 'headless.csv');
  await writeFile(headless, csvText(quoted, { delimiter: ';', decimalComma: true, header: false }));
  const model = join(dir, 'm.safetensors');
  const trained = await runCli(['train', '--data', data, '--missing', 'impute', '--categorical', 'class', '--layers', '6', '--epochs', '2', '--quiet', '--out', model]);
  t.is(trained.code, 0, trained.stderr);
  t.is((await runCli(['export', '--format', 'torch', '--model', model, '--out', join(dir, 'run')])).code, 0);
  await predictsAsPyTorch(t, dir, model, [data, headless]);
});

tier('the script reads a spreadsheet export as gradpool does: currency, percents, (negatives), day-first and dotted dates with their parts, times, and unseen cities as "other"', async (t) => {
  const dir = await tempDir();
  const data = await writeTable(dir, 'train.csv', without(spreadsheetTable(500, 10), 'spend', 'visits'));
  // A later file: its own rows, some of its cities never seen in training (the "other" level).
  const later = without(spreadsheetTable(200, 11), 'spend', 'visits');
  const laterFile = await writeTable(dir, 'later.csv', { header: later.header, rows: later.rows.map((row, r) => row.map((cell, c) => (c === 6 && r % 7 === 0 ? `village-${r}` : cell))) });
  const model = join(dir, 'm.safetensors');
  const trained = await runCli(['train', '--data', data, '--missing', 'impute', '--layers', '6', '--epochs', '2', '--quiet', '--out', model]);
  t.is(trained.code, 0, trained.stderr);
  t.deepEqual(newerFields(await loadModel(model)), ['format', 'order', 'parts', 'partFills', 'other']);
  t.is((await runCli(['export', '--format', 'torch', '--model', model, '--out', join(dir, 'run')])).code, 0);
  await predictsAsPyTorch(t, dir, model, [data, laterFile]);
});
