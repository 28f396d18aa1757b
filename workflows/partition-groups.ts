/**
 * Splits the partitions a run published to into at most `count` groups of similar size, one
 * consume activity each. A partition is never split: its messages are consumed in order by one
 * activity, which commits its position with the rows it wrote. Partitions the run wrote nothing
 * to need no activity.
 */
import type { PartitionRange } from '../lib/partition-range';

export function partitionGroups(ranges: readonly PartitionRange[], count: number): PartitionRange[][] {
  const size = (range: PartitionRange) => Number(BigInt(range.toOffset) - BigInt(range.fromOffset));
  const withMessages = ranges.filter((range) => size(range) > 0).sort((a, b) => size(b) - size(a) || a.partition - b.partition);
  const groups: Array<{ ranges: PartitionRange[]; messages: number }> = [];
  for (const range of withMessages) {
    // The largest partitions first, each to the lightest group so far.
    if (groups.length < count) groups.push({ ranges: [], messages: 0 });
    const lightest = groups.reduce((best, group) => (group.messages < best.messages ? group : best));
    lightest.ranges.push(range);
    lightest.messages += size(range);
  }
  return groups.map((group) => group.ranges.sort((a, b) => a.partition - b.partition));
}

/**
 * The run's range per partition when several publish activities wrote to the topic: from the
 * earliest start any of them saw to the latest end. Other runs' messages inside it are skipped by
 * their run-id header, as always. The slices wrote to one topic (each checks its id did not change
 * while it published), so its name and id are taken from the first.
 */
export function mergePublishedRanges(parts: ReadonlyArray<readonly PartitionRange[]>): PartitionRange[] {
  const merged = new Map<number, PartitionRange>();
  for (const range of parts.flat()) {
    const seen = merged.get(range.partition);
    merged.set(range.partition, {
      ...(seen ?? range),
      fromOffset: seen && BigInt(seen.fromOffset) < BigInt(range.fromOffset) ? seen.fromOffset : range.fromOffset,
      toOffset: seen && BigInt(seen.toOffset) > BigInt(range.toOffset) ? seen.toOffset : range.toOffset,
    });
  }
  return [...merged.values()].sort((a, b) => a.partition - b.partition);
}
