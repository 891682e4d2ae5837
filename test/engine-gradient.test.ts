// The gradient check through the production path: a Coordinator step with the float32 kernels
// the trainer runs, on real worker threads, over 32 shards of 91 rows (each a 64-row and a 27-row
// chunk accumulating into its slab), reduced by the slab tree — against float64 central finite
// differences of the loss and the float64 analytic gradient, for every activation and loss.
// (test/gradient-check.test.ts checks the float64 reference backward pass alone.)
import test from 'ava';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS } from '../src/math/kernels.js';
import type { NetworkShape } from '../src/model/layout.js';
import { KERNEL_SETS } from './helpers/kernel-sets.js';
import { addLastShards, participantsThatComputed } from './helpers/participants.js';
import { buffers64, coordinatorOver, gradientSum, lossSum, makeParameters, makeProblem, parameterIndices, worstRatio } from './helpers/reference.js';

process.env.GRADPOOL_THREADS_BEYOND_CORES = '1';

const ROWS = 2900;
const THREADS = 3;
const sgd = { name: 'sgd', momentum: 0, beta1: 0, beta2: 0, alpha: 0, epsilon: 1, weightDecay: 0 } as const;

for (const activation of HIDDEN_ACTIVATIONS) {
  for (const loss of LOSS_KINDS) {
    const outputs = loss === 'bce' ? 1 : loss === 'mse' ? 2 : 3;
    // ≈2 000 weights: a step of a few ms even with the fastest kernels, long enough for the
    // workers to wake and take shards on a loaded machine, short enough for the finite differences.
    const shape: NetworkShape = { sizes: [8, 48, 32, outputs], activation, loss };
    const problem = makeProblem(shape, ROWS, `engine ${activation} ${loss}`);
    const initial = makeParameters(problem.layout, `engine ${activation} ${loss} init`, 1.5);
    const indices = parameterIndices(problem.layout);
    const all = Int32Array.from({ length: ROWS }, (_, i) => i);
    // float64 analytic mean gradient, and finite differences on a spread of coordinates.
    const analytic = gradientSum(problem, Float64Array.from(initial), all);
    const mean = analytic.sum.map((g) => g / ROWS);
    const sampled = indices.filter((_, k) => k % 67 === 0 || k === indices.length - 1);
    const numeric = new Float64Array(problem.layout.length);
    {
      const parameters = Float64Array.from(initial);
      const buffers = buffers64(shape, ROWS);
      // Truncation ∝ h², rounding ∝ ε/h. relu has kinks: among 2 900 rows some pre-activation lies
      // within a step of 0 unless the step is tiny, so it gets h = 1e-7, at the price of more rounding.
      const h = activation === 'relu' ? 1e-7 : 1e-5;
      for (const i of sampled) {
        const saved = parameters[i]!;
        parameters[i] = saved + h;
        const plus = lossSum(problem, parameters, all, buffers);
        parameters[i] = saved - h;
        const minus = lossSum(problem, parameters, all, buffers);
        parameters[i] = saved;
        numeric[i] = (plus - minus) / (2 * h) / ROWS;
      }
    }
    const scale = Math.max(...indices.map((i) => Math.abs(mean[i]!)));
    const numericRtol = activation === 'relu' ? 1e-5 : 1e-6;

    for (const kernels of KERNEL_SETS) {
      test(`the engine's float32 gradient over multi-chunk shards matches finite differences: ${activation} with ${loss} (${kernels} kernels, ${THREADS} threads)`, async (t) => {
        // Finite differences carry a relative (truncation) and an absolute (rounding, ≈ ε·loss/h) error.
        const float64Check = worstRatio(mean, numeric, sampled, numericRtol, 1e-6 * scale);
        t.log(`float64 analytic vs finite differences: worst ${float64Check.ratio.toFixed(3)} tolerances`);
        t.true(float64Check.ratio <= 1, `float64 analytic vs finite differences at ${float64Check.index}: ${mean[float64Check.index]} vs ${numeric[float64Check.index]}`);

        const coordinator = await coordinatorOver(problem, { threads: THREADS, optimizer: sgd, kernels }, all);
        try {
          const { views } = coordinator;
          // A step is a few ms of work here, which one participant can claim alone before the others
          // wake: repeat the step from the same weights until at least two shared it.
          const step = async () => {
            views.parameters.set(initial);
            const stats = await coordinator.trainStep(0, ROWS, 1, 1);
            return { stats, shards: addLastShards(coordinator, []) };
          };
          let run = await step();
          for (let attempt = 1; attempt < 30 && participantsThatComputed(run.shards) < 2; attempt++) run = await step();
          const { stats, shards } = run;
          t.true(participantsThatComputed(shards) >= 2, `shards per participant: ${shards.join(', ')}`);
          t.true(Math.abs(stats.lossSum - analytic.lossSum) <= 1e-5 * analytic.lossSum, `loss ${stats.lossSum}, float64 ${analytic.lossSum}`);
          // After the step, slab 0 holds the whole batch's reduced gradient sum (the tree adds into it).
          const engine = views.slabs[0]!.map((g) => g / ROWS);
          // float32 sums of 2 900 rows: within 1e-5 of each coordinate plus 1e-6 of the largest one
          // (and the finite differences' own error on top).
          const vsAnalytic = worstRatio(engine, mean, indices, 1e-5, 1e-6 * scale);
          const vsNumeric = worstRatio(engine, numeric, sampled, 1e-5 + numericRtol, 2e-6 * scale);
          t.log(`worst error in tolerances: ${vsAnalytic.ratio.toFixed(3)} against float64 analytic (${indices.length} coordinates), ${vsNumeric.ratio.toFixed(3)} against finite differences (${sampled.length}); shards per participant ${shards.join(', ')}`);
          t.true(vsAnalytic.ratio <= 1, `coordinate ${vsAnalytic.index}: engine ${engine[vsAnalytic.index]}, float64 ${mean[vsAnalytic.index]}`);
          t.true(vsNumeric.ratio <= 1, `coordinate ${vsNumeric.index}: engine ${engine[vsNumeric.index]}, finite differences ${numeric[vsNumeric.index]}`);
          // and the step used exactly that gradient: w ← w − lr·g with lr = 1
          const moved = worstRatio(views.parameters, initial.map((w, i) => w - engine[i]!), indices, 1e-6, 1e-7).ratio;
          t.true(moved <= 1, 'the update applied the reduced gradient');
        } finally {
          await coordinator.close();
        }
      });
    }
  }
}
