// The analytic gradient (our backward pass) against central finite differences of the loss,
// in float64, for every hidden activation and every loss.
import test from 'ava';
import { randomStream, gaussian } from '../src/data/random.js';
import { referenceKernels, HIDDEN_ACTIVATIONS, LOSS_KINDS, type HiddenActivation, type LossKind } from '../src/math/kernels.js';
import { layerViews, parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { chunkBufferLayout, forwardBackward, forwardHidden, type ChunkBuffers } from '../src/model/network.js';
import { parameterIndices, worstFiniteDifferenceError } from './helpers/reference.js';

const ROWS = 5;

function buffers64(shape: NetworkShape): ChunkBuffers<Float64Array> {
  const layout = chunkBufferLayout(shape, ROWS);
  return layout.place(new Float64Array(layout.floats), 0);
}

function setup(activation: HiddenActivation, loss: LossKind) {
  const outputs = loss === 'bce' ? 1 : 3;
  const shape: NetworkShape = { sizes: [4, 6, 5, outputs], activation, loss };
  const layout = parameterLayout(shape);
  const random = randomStream(7, `${activation}-${loss}`);
  const parameters = new Float64Array(layout.length);
  for (let i = 0; i < parameters.length; i++) parameters[i] = gaussian(random) * 0.7;
  const buffers = buffers64(shape);
  const input = new Float64Array(ROWS * 4);
  for (let i = 0; i < input.length; i++) input[i] = gaussian(random);
  const targets = new Float64Array(ROWS * outputs);
  for (let r = 0; r < ROWS; r++) {
    if (loss === 'mse') for (let o = 0; o < outputs; o++) targets[r * outputs + o] = gaussian(random);
    else if (loss === 'bce') targets[r] = r % 2;
    else targets[r * outputs + (r % outputs)] = 1;
  }
  const lossAt = (): number => {
    buffers.activations[0]!.set(input);
    buffers.targets.set(targets);
    const logits = forwardHidden(referenceKernels, shape, layerViews(layout, parameters), buffers, ROWS);
    return referenceKernels.outputLoss(loss, logits, buffers.dz[buffers.dz.length - 1]!, buffers.targets, ROWS, outputs);
  };
  return { shape, layout, parameters, buffers, input, targets, lossAt };
}

for (const activation of HIDDEN_ACTIVATIONS) {
  for (const loss of LOSS_KINDS) {
    test(`backward matches finite differences for ${activation} hidden layers with ${loss}`, (t) => {
      const { shape, layout, parameters, buffers, input, targets, lossAt } = setup(activation, loss);
      const gradient = new Float64Array(layout.length);
      buffers.activations[0]!.set(input);
      buffers.targets.set(targets);
      forwardBackward(referenceKernels, shape, layerViews(layout, parameters), layerViews(layout, gradient), buffers, ROWS);

      const indices = parameterIndices(layout);
      const worst = worstFiniteDifferenceError(parameters, gradient, indices, lossAt);
      t.true(indices.length > 50);
      t.true(worst < 1e-6, `worst relative error ${worst}`);
    });
  }
}

test('the gradient is a sum over rows: two halves add up to the whole', (t) => {
  const { shape, layout, parameters, buffers, input, targets } = setup('tanh', 'cross-entropy');
  const run = (from: number, to: number, into: Float64Array): void => {
    const rows = to - from;
    const outputs = 3;
    buffers.activations[0]!.set(input.subarray(from * 4, to * 4));
    buffers.targets.set(targets.subarray(from * outputs, to * outputs));
    forwardBackward(referenceKernels, shape, layerViews(layout, parameters), layerViews(layout, into), buffers, rows);
  };
  const whole = new Float64Array(layout.length);
  run(0, ROWS, whole);
  const halves = new Float64Array(layout.length);
  run(0, 2, halves);
  run(2, ROWS, halves);
  for (let i = 0; i < whole.length; i++) t.true(Math.abs(whole[i]! - halves[i]!) < 1e-12);
});
