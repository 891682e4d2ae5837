// A Titanic-like table (id, class, sex, age with missing cells, fare, port with missing cells,
// survived) trained by gradpool with `missing: 'impute'` and nothing else, against scikit-learn's
// ColumnTransformer (SimpleImputer + StandardScaler for numbers, SimpleImputer + OneHotEncoder for
// categories, id dropped) + MLPClassifier(64, 64) on the same train/test files. Several seeded
// tables; test accuracies side by side.
//
//   node dist/bench/tabular-vs-sklearn.js [--rows 2000] [--seeds 1,2,3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../src/index.js';
import { splitTable, titanicTable, writeTable } from '../test/helpers/tabular.js';
import { flag, machineInfo, machineLine, markdownTable, note, saveResults, textTable } from './common.js';

const PYTHON = '/usr/bin/python3';
const SKLEARN = `
import json, sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
train, test = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
numeric, categorical = ["class", "age", "fare"], ["sex", "port"]
prep = ColumnTransformer([
    ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric),
    ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")), categorical),
])
model = make_pipeline(prep, MLPClassifier(hidden_layer_sizes=(64, 64), random_state=int(sys.argv[3]), max_iter=300))
model.fit(train.drop(columns=["id", "survived"]), train["survived"])
print(json.dumps({"accuracy": float(model.score(test.drop(columns=["id", "survived"]), test["survived"]))}))
`;

async function main(): Promise<void> {
  const rows = Number(flag('rows', '2000'));
  const seeds = flag('seeds', '1,2,3').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-tabular-'));
  const table: string[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const seed of seeds) {
    const [trainRows, testRows] = splitTable(titanicTable(rows, seed), 0.25, seed);
    const trainFile = await writeTable(dir, `titanic-${seed}-train.csv`, trainRows);
    const testFile = await writeTable(dir, `titanic-${seed}-test.csv`, testRows);
    const ours = await train({ data: trainFile, testData: testFile, missing: 'impute' });
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const run = spawnSync(PYTHON, ['-c', SKLEARN, trainFile, testFile, String(seed)], { encoding: 'utf8', env });
    const sklearn = run.status === 0 ? (JSON.parse(run.stdout.trim()) as { accuracy: number }).accuracy : null;
    if (sklearn === null) note(`scikit-learn did not run: ${run.stderr.trim().split('\n').pop()}`);
    const gradpool = ours.test!.accuracy!;
    note(`seed ${seed}: gradpool ${(gradpool * 100).toFixed(1)}%, scikit-learn ${sklearn === null ? '—' : `${(sklearn * 100).toFixed(1)}%`}`);
    table.push([String(seed), String(trainRows.rows.length), String(testRows.rows.length), `${(gradpool * 100).toFixed(1)}%`, sklearn === null ? '—' : `${(sklearn * 100).toFixed(1)}%`, sklearn === null ? '—' : `${((gradpool - sklearn) * 100).toFixed(1)}`]);
    results.push({ seed, trainRows: trainRows.rows.length, testRows: testRows.rows.length, gradpool, sklearn, schema: ours.data.schema });
  }
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const ourMean = mean(results.map((r) => r.gradpool as number));
  const theirs = results.map((r) => r.sklearn).filter((v): v is number => typeof v === 'number');
  table.push(['mean', '', '', `${(ourMean * 100).toFixed(1)}%`, theirs.length ? `${(mean(theirs) * 100).toFixed(1)}%` : '—', theirs.length ? `${((ourMean - mean(theirs)) * 100).toFixed(1)}` : '—']);
  const headers = ['seed', 'train rows', 'test rows', 'gradpool (missing: impute)', 'scikit-learn MLP', 'difference (points)'];
  const align = ['r', 'r', 'r', 'r', 'r', 'r'] as const;
  console.log(`${machineLine(machineInfo())}\nTitanic-like table, ${rows} rows per seed, 25% held out\n`);
  console.log(textTable(headers, table, align));
  console.log('<!-- markdown -->');
  console.log(markdownTable(headers, table, align));
  saveResults('tabular-vs-sklearn', new Date().toISOString(), { rows, seeds, machine: machineInfo(), results });
}

await main();
