// The numbers of a training step, not just its direction: after a few steps of SGD with weight
// decay, momentum, Adam, AdamW and RMSprop through the engine the trainer uses (Coordinator, real worker threads,
// shared slabs, tree reduction, split update), every weight equals a float64 reference step —
// the reference kernels' forward/backward in float64 on the same weights and rows, and the update
// rule written out in test/helpers/reference.ts — to float32 precision.
import test from 'ava';
import { readCheckpoint } from '../src/run/checkpoint.js';
import type { NetworkShape } from '../src/model/layout.js';
import { OPTIMIZERS as OPTIMIZER_NAMES, type OptimizerSettings } from '../src/optim/optimizers.js';
import { MAX_SHARDS, shardRowsFor } from '../src/parallel/shards.js';
import { train } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { KERNEL_SETS } from './helpers/kernel-sets.js';
import { addLastShards, participantsThatComputed } from './helpers/participants.js';
import { coordinatorOver, gradientSum, makeParameters, makeProblem, parameterIndices, referenceState, referenceUpdate, worstRatio } from './helpers/reference.js';

// Several participants even on a machine with fewer cores: the point is who computes what.
process.env.GRADPOOL_THREADS_BEYOND_CORES = '1';

// 40 → 400 (tanh) → 3 (softmax): 17 603 parameters, i.e. two update blocks of 16 Ki, so the
// update really is split between participants. A batch of 2 900 rows is cut into 32 shards of 91
// rows, each computed as a 64-row chunk and a 27-row chunk accumulating into the shard's slab
// (the last shard: 79 rows, 64 + 15).
const shape: NetworkShape = { sizes: [40, 400, 3], activation: 'tanh', loss: 'cross-entropy' };
const BATCH = 2900;
const problem = makeProblem(shape, 2 * BATCH, 'optimizer-steps');
const initial = makeParameters(problem.layout, 'optimizer-steps init');
const indices = parameterIndices(problem.layout);
// A fixed permutation of the rows: the engine must gather through the order, as in training.
const order = Int32Array.from({ length: 2 * BATCH }, (_, i) => (i * 2311) % (2 * BATCH));
// Steps over two different batches, the second not starting at row 0; then the first again.
const STEPS: ReadonlyArray<[number, number]> = [[0, BATCH], [BATCH, 2 * BATCH], [0, BATCH]];
const LR = 0.1;

const base = { momentum: 0.9, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weightDecay: 0 };
const OPTIMIZERS: Record<string, { settings: OptimizerSettings; lr: number }> = {
  'sgd with weight decay': { settings: { ...base, name: 'sgd', weightDecay: 0.01 }, lr: LR },
  // μ = 0.5 rather than 0.9, so that a velocity that ignored μ would be far off after 3 steps.
  'momentum with weight decay': { settings: { ...base, name: 'momentum', momentum: 0.5, weightDecay: 0.01 }, lr: LR },
  // ε = 1e-3: with ε tiny, a coordinate whose mean gradient is ~0 moves by ±lr on the sign of its
  // rounding noise, which no float32 computation can reproduce; ε damps exactly those.
  'adam with weight decay': { settings: { ...base, name: 'adam', epsilon: 1e-3, weightDecay: 0.01 }, lr: 0.01 },
  // λ = 0.1 so that the decoupled decay (lr·λ·w ≈ 1e-4) is far above the tolerance: coupling it by
  // mistake (Adam's L2) would move a weight by lr, not lr·λ·w, when its gradient is small
  'adamw with decoupled weight decay': { settings: { ...base, name: 'adamw', epsilon: 1e-3, weightDecay: 0.1 }, lr: 0.01 },
  // α = 0.9 rather than 0.99, so that an average that ignored α would be far off after 3 steps
  'rmsprop with weight decay': { settings: { ...base, name: 'rmsprop', alpha: 0.9, epsilon: 1e-3, weightDecay: 0.01 }, lr: 0.001 },
};

// float32 forward/backward against float64: each weight within 1e-5 of its own size plus 1e-7
// (the weights are ~0.1; a step moves them by 1e-4…1e-2, hundreds of times the tolerance).
const RTOL = 1e-5;
const ATOL = 1e-7;

/** The float64 weights after each of STEPS, from the same initial weights. */
function referenceWeights(settings: OptimizerSettings, lr: number): Float64Array[] {
  const parameters = Float64Array.from(initial);
  const state = referenceState(settings, parameters.length);
  return STEPS.map(([start, end], s) => {
    const { sum } = gradientSum(problem, parameters, order.subarray(start, end));
    referenceUpdate(settings, parameters, sum, state, end - start, lr, s + 1);
    return parameters.slice();
  });
}

test('the test batch needs several chunks per shard', (t) => {
  // The engine's chunk is 64 rows; these numbers are what the comments above rely on.
  t.true(BATCH > MAX_SHARDS * 64);
  t.is(shardRowsFor(BATCH, problem.layout.length), 91);
  t.true(problem.layout.length > 16 * 1024);
});

for (const [name, { settings, lr }] of Object.entries(OPTIMIZERS)) {
  const expected = referenceWeights(settings, lr);
  for (const kernels of KERNEL_SETS) {
    for (const threads of [1, 4]) {
      test(`${name}: three steps on ${BATCH}-row batches give the float64 reference weights (${kernels} kernels, ${threads} thread${threads > 1 ? 's' : ''})`, async (t) => {
        const coordinator = await coordinatorOver(problem, { threads, optimizer: settings, kernels }, order, initial);
        try {
          const { views } = coordinator;
          const shards: number[] = [];
          const worst: string[] = [];
          for (const [s, [start, end]] of STEPS.entries()) {
            const before = views.parameters.slice();
            await coordinator.trainStep(start, end, lr, s + 1);
            addLastShards(coordinator, shards);
            const { ratio, index } = worstRatio(views.parameters, expected[s]!, indices, RTOL, ATOL);
            worst.push(ratio.toFixed(3));
            t.true(ratio <= 1, `step ${s + 1}: parameter ${index} is ${views.parameters[index]}, the reference says ${expected[s]![index]} (was ${before[index]})`);
            // The check has teeth: the step moved the weights by far more than the tolerance.
            const moved = worstRatio(views.parameters, before, indices, RTOL, ATOL).ratio;
            t.true(moved > 100, `step ${s + 1} moved the weights by only ${moved} tolerances`);
          }
          t.log(`worst error per step, in tolerances: ${worst.join(', ')}; shards per participant: ${shards.join(', ')}`);
          if (threads > 1) t.true(participantsThatComputed(shards) >= 2, `shards per participant: ${shards.join(', ')}`);
          else t.deepEqual(shards, [STEPS.length * 32]);
        } finally {
          await coordinator.close();
        }
      });
    }
  }
}

// The same through train() itself: its step counter, learning rate, batch mean and weight decay.
// mode 'batch' makes one epoch one step over all training rows, so a checkpoint after epoch 1
// holds the weights and optimizer state from which the reference takes step 2.
for (const optimizer of OPTIMIZER_NAMES) {
  test(`train() takes the float64 reference step with ${optimizer} (in-memory Dataset of ${BATCH} rows, batch mode, 3 threads)`, async (t) => {
    const rows = BATCH;
    const targets = new Int32Array(rows);
    for (let r = 0; r < rows; r++) targets[r] = problem.y.subarray(r * 3, r * 3 + 3).indexOf(1);
    const data = { source: 'memory', rows, features: 40, x: problem.x.slice(0, rows * 40), targets: { kind: 'classes' as const, index: targets, names: ['a', 'b', 'c'] } };
    const { settings, lr } = Object.values(OPTIMIZERS).find((o) => o.settings.name === optimizer)!;
    const options = { data, layers: [400], activation: 'tanh' as const, mode: 'batch' as const, lr, optimizer, momentum: settings.momentum, alpha: settings.alpha, epsilon: settings.epsilon, weightDecay: settings.weightDecay, threads: 3, seed: 4 };
    const dir = await tempDir();
    await train({ ...options, epochs: 1, checkpointDir: dir });
    const two = await train({ ...options, epochs: 2 });
    t.true(participantsThatComputed(two.shardsByParticipant) >= 2, `shards per participant: ${two.shardsByParticipant.join(', ')}`);
    const checkpoint = await readCheckpoint(dir);
    t.is(checkpoint.step, 1);
    const parameters = Float64Array.from(checkpoint.parameters);
    const state = checkpoint.optimizerState.map((s) => Float64Array.from(s));
    const { sum } = gradientSum(problem, parameters, Int32Array.from({ length: rows }, (_, i) => i));
    referenceUpdate(settings, parameters, sum, state, rows, lr, 2);
    const { ratio, index } = worstRatio(two.model.parameters, parameters, indices, RTOL, ATOL);
    t.log(`worst error in tolerances: ${ratio.toFixed(3)}; shards per participant: ${two.shardsByParticipant.join(', ')}`);
    t.true(ratio <= 1, `parameter ${index} is ${two.model.parameters[index]}, the reference says ${parameters[index]}`);
    t.true(worstRatio(two.model.parameters, checkpoint.parameters, indices, RTOL, ATOL).ratio > 100, 'step 2 moved the weights');
  });
}
