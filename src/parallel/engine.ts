// What one compute slot (a worker, or the coordinator itself) does: gather its rows from the
// shared data, run the network, and write results into its shards' slabs and stats; reduce and
// update a slice of the parameters. Views are built once, so running a command allocates nothing
// on the one-participant-per-shard path.
//
// Two ways to share a command's shards:
//   claimed  (team = 1): participants claim whole shards one at a time;
//   teams    (team > 1): every shard's step runs in phases (teamPhases), each cut into units that
//            participants claim: row pieces for the gather and for the output layer with its loss;
//            for the layers' big products, parts of the neurons. A participant takes its own units
//            first, so in the steady state each one keeps to the same neurons of every layer — their
//            weight rows forward, their weight gradient, their update — and those rows stay in its
//            core's cache; a late or slow participant's units are taken by the others.
// Either way every element is summed in the same order, so the bits never depend on the split.
import type { DropoutRows } from '../math/dropout.js';
import type { Kernels } from '../math/kernels.js';
import type { NetworkShape } from '../model/layout.js';
import {
  TILE_COLUMNS, TILE_ROWS, countCorrect, forwardBackwardRows, forwardBackwardRowsFrom, forwardLossRows, forwardOutputs, hiddenLayerForward,
  tilePart, weightGradientsPart, type ChunkBuffers,
} from '../model/network.js';
import { applyUpdate, type OptimizerSettings, type UpdateStep } from '../optim/optimizers.js';
import { treeReduce } from '../optim/reduce.js';
import { arenaViews, scratchBuffers, type ArenaLayout, type ArenaViews } from './arena.js';
import {
  BARRIER, COMMAND_TRAIN, MAX_NEURON_SPLIT_LAYERS, SHARD_CURSOR, UNITS_CLAIMED, UNITS_DONE, UPDATE_CLAIMED, UPDATE_CURSOR, allClaimed, claimUnit, teamPhaseUnits, teamUnits, teamWord,
  type Command,
} from './control.js';
import { ceilDiv, shardRange } from './shards.js';

/** Parameters per claimed block of the update: 16 Ki floats, a multiple of the 64-byte alignment. */
export const UPDATE_BLOCK = 16 * 1024;

/** What a participant's round waits for: control[word] ≥ target (one object, reused). */
export interface Wait {
  word: number;
  target: number;
}

/**
 * Weights per layer from which a team splits the layer's forward by neurons (256 KiB of floats): each
 * member then reads only its own rows of it, which stay in its core's cache from step to step. Smaller
 * layers go forward split by rows with the loss and the backward, in one phase (fewer waits).
 */
const NEURON_SPLIT_WEIGHTS = 64 * 1024;

/** How many leading layers a team splits by neurons going forward: the big hidden layers from the first (never the output layer). */
export function neuronSplitLayers(shape: NetworkShape): number {
  const { sizes } = shape;
  let layers = 0;
  while (layers < Math.min(sizes.length - 2, MAX_NEURON_SPLIT_LAYERS) && sizes[layers]! * sizes[layers + 1]! >= NEURON_SPLIT_WEIGHTS) layers++;
  return layers;
}

/**
 * The order in which team member `member` of a team of `team` tries the `units` units of a phase: its
 * own (member, member + team, …) first, then the others'.
 */
export function claimOrder(units: number, team: number, member: number): number[] {
  const own = Array.from({ length: units }, (_, j) => j).filter((j) => j % team === member);
  const others = Array.from({ length: units }, (_, j) => (member + 1 + j) % units).filter((j) => j % team !== member);
  return [...own, ...others];
}

export class ShardEngine {
  readonly views: ArenaViews;
  /** Every slot's scratch area: a team works in the one of its number. */
  private readonly slotBuffers: ChunkBuffers[];
  private readonly buffers: ChunkBuffers;
  private readonly shape: NetworkShape;
  private readonly features: number;
  private readonly outputs: number;
  private readonly wait: Wait = { word: 0, target: 0 };
  /** The masks' context for the chunk being computed (training with dropout only). */
  private readonly dropout: DropoutRows | undefined;
  /** Rows this participant ran in the current command (in a team: rows of the loss it computed). */
  rowsComputed = 0;
  /** Float offsets of every layer's w and b in the parameters (and every slab). */
  private readonly layerOffsets: { w: number; b: number }[];
  /** claimOrder results by (units, team, member) (made once per team size). */
  private readonly claimOrders = new Map<number, number[]>();

  constructor(
    memory: WebAssembly.Memory,
    private readonly layout: ArenaLayout,
    slot: number,
    private readonly kernels: Kernels,
    private readonly optimizer: OptimizerSettings,
  ) {
    this.views = arenaViews(memory, layout);
    this.slotBuffers = Array.from({ length: layout.plan.slots }, (_, s) => scratchBuffers(memory, layout, s));
    this.buffers = this.slotBuffers[slot]!;
    this.shape = layout.plan.shape;
    this.features = this.shape.sizes[0]!;
    this.outputs = this.shape.sizes[this.shape.sizes.length - 1]!;
    const base = this.views.parameters.byteOffset;
    this.layerOffsets = this.views.parameterLayers.map(({ w, b }) => ({ w: (w.byteOffset - base) / 4, b: (b.byteOffset - base) / 4 }));
    const dropout = layout.plan.dropout;
    this.dropout = dropout && dropout.rate > 0 ? { rate: dropout.rate, seed: dropout.seed, step: 0, batchRow: 0 } : undefined;
  }

  /** The dropout context of a training chunk starting at order[chunk] (undefined without dropout). */
  private masks(command: Command, chunk: number): DropoutRows | undefined {
    const dropout = this.dropout;
    if (!dropout) return undefined;
    dropout.step = command.step;
    dropout.batchRow = chunk - command.start;
    return dropout;
  }

  /**
   * Claims shards one at a time until none is left. A participant that runs slower (a busy core)
   * simply takes fewer shards; which participant computed a shard never changes its result.
   */
  computeClaimedShards(command: Command): number {
    const { control } = this.views;
    this.rowsComputed = 0;
    for (let claimed = 0; ; claimed++) {
      const shard = Atomics.add(control, SHARD_CURSOR, 1);
      if (shard >= command.shards) return claimed;
      this.computeShard(command, shard);
      if (command.kind === COMMAND_TRAIN) {
        Atomics.add(control, BARRIER, 1);
        Atomics.notify(control, BARRIER);
      }
    }
  }

  /**
   * The team path (team > 1, every shard one chunk): the shard's phases in order, starting with this
   * participant's own shard; in each phase, claim units (own first) until none is left. Yields where a
   * phase must wait for the one before it to be complete; a phase whose units are all taken is skipped.
   * Work is claimed, never assigned: the coordinator alone can do all of it. Returns the shards whose
   * stats it summed.
   */
  *computeTeamShares(command: Command, participant: number): Generator<Wait, number, void> {
    const { control } = this.views;
    const member = Math.floor(participant / command.shards) % command.team;
    this.rowsComputed = 0;
    let summed = 0;
    const first = participant % command.shards;
    for (let k = 0; k < command.shards; k++) {
      const shard = (first + k) % command.shards;
      for (let phase = 0; phase < command.phases; phase++) {
        const units = teamPhaseUnits(command, phase);
        const claimed = teamWord(shard, phase, UNITS_CLAIMED);
        if (Atomics.load(control, claimed) === allClaimed(units)) continue;
        if (phase > 0) yield this.waitFor(teamWord(shard, phase - 1, UNITS_DONE), teamPhaseUnits(command, phase - 1));
        const last = phase === command.phases - 1;
        for (const unit of this.claimOrderOf(units, command.team, member)) {
          if (!claimUnit(control, claimed, unit)) continue;
          summed += this.teamUnit(command, shard, phase, unit, units);
          Atomics.add(control, teamWord(shard, phase, UNITS_DONE), 1);
          Atomics.notify(control, teamWord(shard, phase, UNITS_DONE));
          if (last) {
            Atomics.add(control, BARRIER, 1);
            Atomics.notify(control, BARRIER);
          }
        }
      }
    }
    return summed;
  }

  /**
   * The update's units in a team step of several shards, after the step's barrier (the slabs of every
   * shard are summed): unit j is part j of every layer's neurons, as in the phases. A step of one shard
   * has nothing to sum: each of its gradient units updates its own part at once.
   */
  updateTeamParts(command: Command, participant: number): void {
    if (command.shards === 1) return;
    const units = teamUnits(command.team);
    for (const unit of this.claimOrderOf(units, command.team, Math.floor(participant / command.shards) % command.team)) {
      if (claimUnit(this.views.control, UPDATE_CLAIMED, unit)) this.updatePart(command, unit, units);
    }
  }

  /** Reduces and updates part `unit` of `units` of every layer's neurons (their weight rows and biases). */
  private updatePart(command: Command, unit: number, units: number): void {
    const sizes = this.shape.sizes;
    for (let l = 0; l < this.layerOffsets.length; l++) {
      const [from, to] = tilePart(sizes[l + 1]!, TILE_COLUMNS, unit, units);
      if (to <= from) continue;
      const { w, b } = this.layerOffsets[l]!;
      this.reduceAndUpdate(command, w + from * sizes[l]!, w + to * sizes[l]!);
      this.reduceAndUpdate(command, b + from, b + to);
    }
  }

  private claimOrderOf(units: number, team: number, member: number): number[] {
    const key = (units * 64 + team) * 64 + member; // units ≤ 32, team and member ≤ 16
    let order = this.claimOrders.get(key);
    if (!order) this.claimOrders.set(key, (order = claimOrder(units, team, member)));
    return order;
  }

  /**
   * Unit `unit` of `units` of phase `phase` of the shard's team step (see teamPhases): returns 1 where it
   * summed the shard's stats (the last phase's unit 0, once the loss of every row is in).
   */
  private teamUnit(command: Command, shard: number, phase: number, unit: number, units: number): number {
    const neuronLayers = command.phases - 3;
    const sizes = this.shape.sizes;
    const [start, end] = shardRange(command.start, command.end, command.shardRows, shard);
    const rows = end - start;
    const buffers = this.slotBuffers[shard]!;
    const { parameterLayers } = this.views;
    if (phase === 0) {
      const [from, to] = tilePart(rows, TILE_ROWS, unit, units);
      this.gather(buffers, start + from, from, to - from);
      return 0;
    }
    if (phase <= neuronLayers) {
      const l = phase - 1;
      const [from, to] = tilePart(sizes[l + 1]!, TILE_COLUMNS, unit, units);
      if (to > from) hiddenLayerForward(this.kernels, this.shape, parameterLayers, buffers, l, 0, rows, from, to, this.masks(command, start));
      return 0;
    }
    if (phase === neuronLayers + 1) {
      const [from, to] = tilePart(rows, TILE_ROWS, unit, units);
      if (to > from) this.rowTiles(command, buffers, shard, neuronLayers, from, to);
      return 0;
    }
    weightGradientsPart(this.kernels, this.shape, this.views.slabLayers[shard]!, buffers, rows, false, unit, units);
    // every phase that reads these weights is complete: a lone shard's part can be updated now
    if (command.shards === 1) this.updatePart(command, unit, units);
    if (unit > 0) return 0;
    // tile order, as the one-participant path adds them
    const { stats, tileLosses, tileCorrect } = this.views;
    let lossSum = 0;
    let correct = 0;
    for (let t = 0; t < ceilDiv(rows, TILE_ROWS); t++) {
      lossSum += tileLosses[shard]![t]!;
      correct += tileCorrect[shard]![t]!;
    }
    stats[shard * 2] = lossSum;
    stats[shard * 2 + 1] = correct;
    return 1;
  }

  /**
   * The network's outputs (probabilities for the classifying losses) for rows order[start, end), on
   * this participant alone, into `into` from row 0: a chunk at a time through its scratch area.
   */
  outputRows(start: number, end: number, into: Float32Array): void {
    const { parameterLayers } = this.views;
    const width = this.outputs;
    for (let chunk = start; chunk < end; chunk += this.buffers.capacity) {
      const rows = Math.min(this.buffers.capacity, end - chunk);
      this.gather(this.buffers, chunk, 0, rows);
      const out = forwardOutputs(this.kernels, this.shape, parameterLayers, this.buffers, rows);
      into.set(out.subarray(0, rows * width), (chunk - start) * width);
    }
  }

  /** Likewise for the reduction and update, in blocks of UPDATE_BLOCK parameters. */
  updateClaimedBlocks(command: Command): void {
    const { control } = this.views;
    const length = this.layout.params.length;
    for (;;) {
      const from = Atomics.add(control, UPDATE_CURSOR, 1) * UPDATE_BLOCK;
      if (from >= length) return;
      this.reduceAndUpdate(command, from, Math.min(from + UPDATE_BLOCK, length));
    }
  }

  /** The reused Wait for control[word] ≥ target. */
  waitFor(word: number, target: number): Wait {
    this.wait.word = word;
    this.wait.target = target;
    return this.wait;
  }

  private computeShard(command: Command, shard: number): void {
    const withGradients = command.kind === COMMAND_TRAIN;
    const { stats, slabLayers } = this.views;
    const [start, end] = shardRange(command.start, command.end, command.shardRows, shard);
    let lossSum = 0;
    let correct = 0;
    // A shard longer than the scratch capacity runs in consecutive chunks that accumulate into
    // the same slab, in a fixed order: still independent of the thread count.
    for (let chunk = start; chunk < end; chunk += this.buffers.capacity) {
      const rows = Math.min(this.buffers.capacity, end - chunk);
      this.gather(this.buffers, chunk, 0, rows);
      const { parameterLayers } = this.views;
      lossSum += withGradients
        ? forwardBackwardRows(this.kernels, this.shape, parameterLayers, this.buffers, 0, rows, undefined, this.masks(command, chunk))
        : forwardLossRows(this.kernels, this.shape, parameterLayers, this.buffers, 0, rows);
      if (withGradients) weightGradientsPart(this.kernels, this.shape, slabLayers[shard]!, this.buffers, rows, chunk > start);
      correct += countCorrect(this.buffers.activations[this.shape.sizes.length - 1]!, this.buffers.targets, rows, this.outputs);
    }
    this.rowsComputed += end - start;
    stats[shard * 2] = lossSum;
    stats[shard * 2 + 1] = correct;
  }

  /**
   * Rows [from, to) of a team's shard in `buffers`, once its first `first` layers are forward for every
   * row: the rest of the forward, the loss and every dZ; each tile's loss and correct count go to the
   * shard's tile stats.
   */
  private rowTiles(command: Command, buffers: ChunkBuffers, shard: number, first: number, from: number, to: number): void {
    const { parameterLayers, tileLosses, tileCorrect } = this.views;
    const [start] = shardRange(command.start, command.end, command.shardRows, shard);
    forwardBackwardRowsFrom(this.kernels, this.shape, parameterLayers, buffers, first, from, to, tileLosses[shard]!, this.masks(command, start));
    const out = buffers.activations[this.shape.sizes.length - 1]!;
    const correct = tileCorrect[shard]!;
    for (let r = from; r < to; r += TILE_ROWS) correct[r / TILE_ROWS] = countCorrect(out, buffers.targets, Math.min(TILE_ROWS, to - r), this.outputs, r);
    this.rowsComputed += to - from;
  }

  private reduceAndUpdate(step: UpdateStep & { shards: number }, from: number, to: number): void {
    treeReduce(this.kernels, this.views.slabs, step.shards, from, to);
    applyUpdate(this.kernels, this.optimizer, step, this.views.parameters, this.views.slabs[0]!, this.views.optimizerState, from, to);
  }

  /** Copies rows order[from, from+rows) of x and y into rows [at, at+rows) of the scratch input and target buffers. */
  private gather(buffers: ChunkBuffers, from: number, at: number, rows: number): void {
    const { x, y, order } = this.views;
    this.kernels.gatherRows(buffers.activations[0]!, at, x, order, from, rows, this.features);
    this.kernels.gatherRows(buffers.targets, at, y, order, from, rows, this.outputs);
  }
}
