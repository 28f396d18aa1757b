/** Where in Kafka a run's purchase counts went: what publish records, classify reads and reconcile checks. */
/** The part of one partition a run wrote: offsets from `fromOffset` up to, not including, `toOffset`. */
export interface PartitionRange {
  partition: number;
  fromOffset: string;
  toOffset: string;
  /**
   * The topic the offsets are of, and its id (Kafka's UUID, new each time a topic of that name is
   * created), so the consumer can tell it is still reading the same topic. Absent in runs
   * published before they were recorded; the id also where the broker cannot say (before 2.8).
   */
  topic?: string;
  topicId?: string;
}
