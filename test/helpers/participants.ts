// Who computed: shards per participant (0 = the coordinator thread, 1.. = workers).
import type { Coordinator } from '../../src/parallel/coordinator.js';

/** Adds the most recent command's shards per participant into `total` (grown as needed). */
export function addLastShards(coordinator: Coordinator, total: number[]): number[] {
  coordinator.lastShardsByParticipant().forEach((shards, participant) => (total[participant] = (total[participant] ?? 0) + shards));
  return total;
}

/** How many participants computed at least one shard. */
export function participantsThatComputed(shardsByParticipant: readonly number[]): number {
  return shardsByParticipant.filter((shards) => shards > 0).length;
}
