// Seeded initialisation: He for ReLU layers, Xavier/Glorot for sigmoid and tanh (and the output layer).
import type { Random } from '../data/random.js';
import { type LayerViews, type NetworkShape } from './layout.js';

export function initializeParameters(shape: NetworkShape, layers: readonly LayerViews[], random: Random): void {
  layers.forEach((layer, l) => {
    const inputs = shape.sizes[l]!;
    const outputs = shape.sizes[l + 1]!;
    const isOutput = l === layers.length - 1;
    // uniform(−limit, limit) has variance limit²/3: He → 2/inputs, Xavier → 2/(inputs+outputs)
    const limit = shape.activation === 'relu' && !isOutput ? Math.sqrt(6 / inputs) : Math.sqrt(6 / (inputs + outputs));
    for (let i = 0; i < layer.w.length; i++) layer.w[i] = (2 * random() - 1) * limit;
    layer.b.fill(0);
  });
}
