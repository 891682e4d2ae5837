// Seeded initialisation: each hidden activation's rule from the registry (He for relu-like units,
// Xavier/Glorot for saturating ones); the output layer always Glorot.
import type { Random } from '../data/random.js';
import { ACTIVATIONS } from '../math/ops.js';
import { type LayerViews, type NetworkShape } from './layout.js';

export function initializeParameters(shape: NetworkShape, layers: readonly LayerViews[], random: Random): void {
  const rule = ACTIVATIONS[shape.activation].init;
  layers.forEach((layer, l) => {
    const inputs = shape.sizes[l]!;
    const outputs = shape.sizes[l + 1]!;
    const isOutput = l === layers.length - 1;
    // uniform(−limit, limit) has variance limit²/3: He → 2/inputs, Xavier → 2/(inputs+outputs)
    const limit = rule === 'he' && !isOutput ? Math.sqrt(6 / inputs) : Math.sqrt(6 / (inputs + outputs));
    for (let i = 0; i < layer.w.length; i++) layer.w[i] = (2 * random() - 1) * limit;
    layer.b.fill(0);
  });
}
