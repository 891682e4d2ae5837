// The op registry: every hidden activation, output loss and optimizer declared once, with what the
// rest of gradpool derives from it: the numeric code the wasm and native kernels switch on
// (test/op-registry.test.ts holds src/native/kernels.cc and src/wasm/assembly/kernels.ts to these
// codes), what an activation's backward reads, its initialisation rule and ONNX lowering, an
// optimizer's state buffers, hyper-parameters (each one an option row in src/options/table.ts) and
// the per-step coefficients its kernel takes.
//
// Adding an activation: an entry here, its forward and backward in the three kernel languages
// (kernels.ts, src/wasm/assembly/kernels.ts, src/native/kernels.cc). Nothing else names it.

/** What an activation's backward reads: its output a (computed in place over z), or z itself (kept). */
export type BackwardInput = 'a' | 'z';
/** He (variance 2/inputs) for relu-like units, Glorot (2/(inputs + outputs)) for saturating ones. */
export type InitRule = 'he' | 'glorot';

/** What an ONNX lowering may ask of the graph being written (model/onnx.ts implements it). */
export interface OnnxGraphBuilder {
  /** Adds a node with float and int attributes; returns the name of its one output. */
  node(op: string, inputs: readonly string[], floats?: Readonly<Record<string, number>>, ints?: Readonly<Record<string, number>>): string;
  /** A float scalar initializer; returns its name. */
  constant(value: number): string;
}

export interface ActivationOp {
  readonly code: number;
  readonly backwardFrom: BackwardInput;
  readonly init: InitRule;
  /** The hyper-parameter passed to the kernels as `parameter` (0 when there is none). */
  readonly parameter?: 'leakySlope';
  /** The nodes computing act(x) in an ONNX opset-17 graph; returns the output's name. */
  readonly onnx: (graph: OnnxGraphBuilder, x: string, parameter: number) => string;
}

/** GELU's tanh approximation: 0.5·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))). */
export const GELU_SCALE = Math.sqrt(2 / Math.PI);
export const GELU_CUBIC = 0.044715;

export const ACTIVATIONS = {
  relu: { code: 0, backwardFrom: 'a', init: 'he', onnx: (g, x) => g.node('Relu', [x]) },
  sigmoid: { code: 1, backwardFrom: 'a', init: 'glorot', onnx: (g, x) => g.node('Sigmoid', [x]) },
  tanh: { code: 2, backwardFrom: 'a', init: 'glorot', onnx: (g, x) => g.node('Tanh', [x]) },
  // a > 0 exactly where z > 0 (slope ≥ 0), so the backward needs only a
  'leaky-relu': { code: 3, backwardFrom: 'a', init: 'he', parameter: 'leakySlope', onnx: (g, x, slope) => g.node('LeakyRelu', [x], { alpha: slope }) },
  // opset 17 has no Gelu node (it came in opset 20): the formula, node by node
  gelu: {
    code: 4,
    backwardFrom: 'z',
    init: 'he',
    onnx: (g, x) => {
      const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
      const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, g.constant(GELU_CUBIC)])]), g.constant(GELU_SCALE)]);
      const half = g.node('Mul', [x, g.constant(0.5)]);
      return g.node('Mul', [half, g.node('Add', [g.node('Tanh', [inner]), g.constant(1)])]);
    },
  },
  silu: { code: 5, backwardFrom: 'z', init: 'he', onnx: (g, x) => g.node('Mul', [x, g.node('Sigmoid', [x])]) },
} as const satisfies Record<string, ActivationOp>;

export type HiddenActivation = keyof typeof ACTIVATIONS;
export const HIDDEN_ACTIVATIONS = Object.keys(ACTIVATIONS) as HiddenActivation[];

export interface LossOp {
  readonly code: number;
  /** The output activation the loss is fused with, as the model file names it. */
  readonly output: 'sigmoid' | 'softmax' | 'linear';
  /** The output node after the last Gemm (none for a linear output). */
  readonly onnx?: (graph: OnnxGraphBuilder, x: string) => string;
}

export const LOSSES = {
  bce: { code: 0, output: 'sigmoid', onnx: (g, x) => g.node('Sigmoid', [x]) },
  'cross-entropy': { code: 1, output: 'softmax', onnx: (g, x) => g.node('Softmax', [x], {}, { axis: 1 }) },
  mse: { code: 2, output: 'linear' },
} as const satisfies Record<string, LossOp>;

export type LossKind = keyof typeof LOSSES;
export const LOSS_KINDS = Object.keys(LOSSES) as LossKind[];

// ---- optimizers ----

/** A hyper-parameter: its option row (src/options/table.ts derives it from this entry) and its range. */
export interface HyperParameter {
  readonly default: number;
  readonly min: number;
  readonly max?: number;
  /** The bounds themselves are excluded. */
  readonly above?: boolean;
  readonly below?: boolean;
  /** What it is, after the names of its users ("adam, adamw: β1"). */
  readonly help: string;
}

export const HYPER_PARAMETERS = {
  momentum: { default: 0.9, min: 0, max: 1, below: true, help: 'μ' },
  beta1: { default: 0.9, min: 0, max: 1, below: true, help: 'β1' },
  beta2: { default: 0.999, min: 0, max: 1, below: true, help: 'β2' },
  alpha: { default: 0.99, min: 0, max: 1, below: true, help: 'smoothing constant α of the squared-gradient average' },
  epsilon: { default: 1e-8, min: 0, above: true, help: 'ε' },
  weightDecay: { default: 0, min: 0, help: 'weight decay λ (adamw: decoupled, w ← w − lr·λ·w; the others: L2, λ·w added to the gradient)' },
  leakySlope: { default: 0.01, min: 0, max: 1, below: true, help: 'slope for z < 0' },
} as const satisfies Record<string, HyperParameter>;

export type HyperName = keyof typeof HYPER_PARAMETERS;

/** The values of an optimizer's hyper-parameters, by name. */
export type OptimizerHyper = Readonly<Record<'momentum' | 'beta1' | 'beta2' | 'alpha' | 'epsilon' | 'weightDecay', number>>;

/** One step's schedule: learning rate, 1/rows of the batch, 1-based step count. */
export interface StepScalars {
  readonly lr: number;
  readonly invBatch: number;
  readonly step: number;
}

/** Coefficients a kernel's update takes, at most this many (the kernels' signature is fixed). */
export const UPDATE_COEFFICIENTS = 8;

export interface OptimizerOp {
  readonly code: number;
  /** Parameter-sized state buffers, by name (kept in checkpoints in this order). */
  readonly state: readonly string[];
  readonly hyper: readonly (keyof OptimizerHyper)[];
  /** Writes the kernel's coefficients for this step into `into` (no allocation: it runs every update block). */
  readonly coefficients: (into: Float64Array, hyper: OptimizerHyper, step: StepScalars) => void;
}

export const OPTIMIZERS_BY_NAME = {
  // w ← w − lr·(g + λ·w), in float32: [lr/rows, lr·λ]
  sgd: { code: 0, state: [], hyper: ['weightDecay'], coefficients: (h, p, s) => { h[0] = s.lr * s.invBatch; h[1] = s.lr * p.weightDecay; } },
  // PyTorch's SGD with momentum: v ← μ·v + g;  w ← w − lr·v.  [lr, 1/rows, λ, μ]
  momentum: { code: 1, state: ['velocity'], hyper: ['momentum', 'weightDecay'], coefficients: (h, p, s) => { h[0] = s.lr; h[1] = s.invBatch; h[2] = p.weightDecay; h[3] = p.momentum; } },
  // [lr, 1/rows, λ, β1, β2, ε, 1 − β1^t, 1 − β2^t]
  adam: { code: 2, state: ['first', 'second'], hyper: ['beta1', 'beta2', 'epsilon', 'weightDecay'], coefficients: adamCoefficients },
  // PyTorch's AdamW: w ← w·(1 − lr·λ) first, then Adam's step on the plain gradient. Same coefficients.
  adamw: { code: 3, state: ['first', 'second'], hyper: ['beta1', 'beta2', 'epsilon', 'weightDecay'], coefficients: adamCoefficients },
  // PyTorch's RMSprop (not centered, no momentum): s ← α·s + (1 − α)·g²;  w ← w − lr·g / (√s + ε).  [lr, 1/rows, λ, α, ε]
  rmsprop: { code: 4, state: ['square'], hyper: ['alpha', 'epsilon', 'weightDecay'], coefficients: (h, p, s) => { h[0] = s.lr; h[1] = s.invBatch; h[2] = p.weightDecay; h[3] = p.alpha; h[4] = p.epsilon; } },
} as const satisfies Record<string, OptimizerOp>;

function adamCoefficients(h: Float64Array, p: OptimizerHyper, s: StepScalars): void {
  h[0] = s.lr; h[1] = s.invBatch; h[2] = p.weightDecay; h[3] = p.beta1; h[4] = p.beta2; h[5] = p.epsilon;
  h[6] = 1 - p.beta1 ** s.step; h[7] = 1 - p.beta2 ** s.step;
}

export type OptimizerName = keyof typeof OPTIMIZERS_BY_NAME;
export const OPTIMIZERS = Object.keys(OPTIMIZERS_BY_NAME) as OptimizerName[];

/** The optimizers that read a hyper-parameter, for its help text. */
export function hyperUsers(name: HyperName): string[] {
  const users: string[] = OPTIMIZERS.filter((o) => (OPTIMIZERS_BY_NAME[o].hyper as readonly string[]).includes(name));
  for (const a of HIDDEN_ACTIVATIONS) if ((ACTIVATIONS[a] as ActivationOp).parameter === name) users.push(a);
  return users;
}
