// What one compute slot (a worker, or the coordinator itself) does: gather its rows from the
// shared data, run the network, and write results into its shards' slabs and stats; reduce and
// update a slice of the parameters. Views are built once, so running a command allocates nothing
// on the one-participant-per-shard path.
//
// Two ways to share a command's shards:
//   claimed  (team = 1): participants claim whole shards one at a time;
//   teams    (team > 1): shard s belongs to participants [s·team, (s+1)·team). Each member runs its
//            own tiles of rows forward and back to every layer's dZ, the team meets at a barrier,
//            then each member sums dW/db for its own part of every layer's output neurons.
// Either way every element is summed in the same order, so the bits never depend on the split.
import type { DropoutRows } from '../math/dropout.js';
import type { Kernels } from '../math/kernels.js';
import type { NetworkShape } from '../model/layout.js';
import { TILE_ROWS, countCorrect, forwardBackwardRows, forwardLossRows, weightGradientsPart, type ChunkBuffers } from '../model/network.js';
import { applyUpdate, type OptimizerSettings, type UpdateStep } from '../optim/optimizers.js';
import { treeReduce } from '../optim/reduce.js';
import { arenaViews, scratchBuffers, type ArenaLayout, type ArenaViews } from './arena.js';
import { BARRIER, COMMAND_TRAIN, PART_CURSOR, PIECES_DONE, PIECE_CURSOR, SHARD_CURSOR, UPDATE_CURSOR, teamPieces, teamWord, type Command } from './control.js';
import { shardRange } from './shards.js';

/** Parameters per claimed block of the update: 16 Ki floats, a multiple of the 64-byte alignment. */
export const UPDATE_BLOCK = 16 * 1024;

/** What a participant's round waits for: control[word] ≥ target (one object, reused). */
export interface Wait {
  word: number;
  target: number;
}

/** Rows [from, to) of piece `piece` of `pieces` of a shard of `rows` rows: whole tiles, the last piece the partial one. */
export function pieceRows(rows: number, piece: number, pieces: number): [number, number] {
  const tiles = Math.ceil(rows / TILE_ROWS);
  const from = Math.floor((piece * tiles) / pieces) * TILE_ROWS;
  const to = Math.min(rows, Math.floor(((piece + 1) * tiles) / pieces) * TILE_ROWS);
  return [Math.min(from, rows), to];
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
  /** Rows this participant ran in the current command. */
  rowsComputed = 0;

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
   * The team path (team > 1, every shard one chunk): each shard's rows are cut into `pieces` on tile
   * boundaries and its output neurons into `parts`; participants claim pieces (forward, loss, every
   * dZ) of every shard, starting with their own, then — once a shard's pieces are all done — claim its
   * parts (dW, db). Work is claimed, never assigned: a participant that is late (a busy or halted
   * core) takes less, and the coordinator alone can do all of it. Yields where it must wait for a
   * piece another participant claimed; returns the shards whose stats it summed.
   */
  *computeTeamShares(command: Command, participant: number): Generator<Wait, number, void> {
    const { control, stats, slabLayers, tileLosses, tileCorrect } = this.views;
    const pieces = teamPieces(command.team);
    this.rowsComputed = 0;
    let summed = 0;
    const first = participant % command.shards;
    for (let k = 0; k < command.shards; k++) {
      const shard = (first + k) % command.shards;
      const [start, end] = shardRange(command.start, command.end, command.shardRows, shard);
      const buffers = this.slotBuffers[shard]!;
      for (;;) {
        const piece = Atomics.add(control, teamWord(shard, PIECE_CURSOR), 1);
        if (piece >= pieces) break;
        const [from, to] = pieceRows(end - start, piece, pieces);
        this.gather(buffers, start + from, from, to - from);
        this.pieceTiles(buffers, shard, from, to, this.masks(command, start));
        this.rowsComputed += to - from;
        Atomics.add(control, teamWord(shard, PIECES_DONE), 1);
        Atomics.notify(control, teamWord(shard, PIECES_DONE));
      }
    }
    for (let k = 0; k < command.shards; k++) {
      const shard = (first + k) % command.shards;
      if (Atomics.load(control, teamWord(shard, PART_CURSOR)) >= pieces) continue; // nothing left to claim
      // every row's dZ must be in place before anyone sums over the rows
      yield this.waitFor(teamWord(shard, PIECES_DONE), pieces);
      const [start, end] = shardRange(command.start, command.end, command.shardRows, shard);
      const rows = end - start;
      for (;;) {
        const part = Atomics.add(control, teamWord(shard, PART_CURSOR), 1);
        if (part >= pieces) break;
        weightGradientsPart(this.kernels, this.shape, slabLayers[shard]!, this.slotBuffers[shard]!, rows, false, part, pieces);
        if (part === 0) {
          // tile order, as the one-participant path adds them
          let lossSum = 0;
          let correct = 0;
          for (let t = 0; t < Math.ceil(rows / TILE_ROWS); t++) {
            lossSum += tileLosses[shard]![t]!;
            correct += tileCorrect[shard]![t]!;
          }
          stats[shard * 2] = lossSum;
          stats[shard * 2 + 1] = correct;
          summed++;
        }
        Atomics.add(control, BARRIER, 1);
        Atomics.notify(control, BARRIER);
      }
    }
    return summed;
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
   * A piece: rows [from, to) of the shard in `buffers` — forward, loss and every layer's dZ; each
   * tile's loss and correct count go to the shard's tile stats, added in tile order by part 0's claimant.
   */
  private pieceTiles(buffers: ChunkBuffers, team: number, from: number, to: number, dropout: DropoutRows | undefined): void {
    const { parameterLayers, tileLosses, tileCorrect } = this.views;
    forwardBackwardRows(this.kernels, this.shape, parameterLayers, buffers, from, to, tileLosses[team]!, dropout);
    const out = buffers.activations[this.shape.sizes.length - 1]!;
    const correct = tileCorrect[team]!;
    for (let r = from; r < to; r += TILE_ROWS) correct[r / TILE_ROWS] = countCorrect(out, buffers.targets, Math.min(TILE_ROWS, to - r), this.outputs, r);
  }

  private reduceAndUpdate(step: UpdateStep & { shards: number }, from: number, to: number): void {
    treeReduce(this.kernels, this.views.slabs, step.shards, from, to);
    applyUpdate(this.kernels, this.optimizer, step, this.views.parameters, this.views.slabs[0]!, this.views.optimizerState, from, to);
  }

  /** Copies rows order[from, from+rows) of x and y into rows [at, at+rows) of the scratch input and target buffers. */
  private gather(buffers: ChunkBuffers, from: number, at: number, rows: number): void {
    const { heap, order } = this.views;
    const { x, y } = this.layout;
    const features = this.features;
    const outputs = this.outputs;
    const inputBase = buffers.activations[0]!.byteOffset / 4 + at * features;
    const targetBase = buffers.targets.byteOffset / 4 + at * outputs;
    for (let r = 0; r < rows; r++) {
      const sample = order[from + r]!;
      // copyWithin on the one arena-wide view: a memmove with no temporary view objects
      heap.copyWithin(inputBase + r * features, x + sample * features, x + (sample + 1) * features);
      heap.copyWithin(targetBase + r * outputs, y + sample * outputs, y + (sample + 1) * outputs);
    }
  }
}
