/**
 * A topic's id: the UUID Kafka gives each topic when it is created. A topic deleted and created
 * again under the same name gets a new id, and its offsets start again at 0, so offsets recorded
 * against the old one mean nothing in the new one; the name alone cannot tell them apart.
 *
 * kafkajs 2.2.4 speaks Metadata up to version 6; topic ids came with version 10 (Kafka 2.8).
 * Metadata v10 to v12 are sent here through kafkajs's own protocol layer (its encoder, decoder,
 * connection and SASL/TLS set-up) on a cluster object made by the same client, so the request
 * goes wherever and however the project's other Kafka requests go. These versions are "flexible"
 * (KIP-482): the request header carries tagged fields after the client id and the response header
 * after the correlation id. kafkajs writes and reads the fixed part of both headers, so the body
 * here starts with the empty tagged fields of the request header and the decoder first skips those
 * of the response header.
 *
 * This reaches into kafkajs internals (the client's private cluster factory), pinned at 2.2.4 in
 * package.json and tested against the real broker in test/integration/kafka-loss.test.ts. Where it
 * cannot be had (a broker older than 2.8, a kafkajs that changed), the id is `undefined` and the
 * consumer falls back on what it checks anyway: watermarks and the offset of every batch.
 */
import type { Kafka } from 'kafkajs';

/** The topic's id; `null`: no such topic; `undefined`: this broker or client cannot say. */
export type TopicId = string | null | undefined;

export interface TopicIdReader {
  topicId(topic: string): Promise<TopicId>;
  disconnect(): Promise<void>;
}

const METADATA_API_KEY = 3;
const MIN_VERSION = 10;
const MAX_VERSION = 12;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

/** The parts of kafkajs's (untyped) internals used here. */
interface KafkaCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  brokerPool: { seedBroker?: KafkaBroker };
}
interface KafkaBroker {
  versions: Record<number, { maxVersion?: number }> | null;
  connectionPool: { send(request: unknown): Promise<any> };
}

/** A reader on a connection of its own, for a caller that asks again and again (the consumer's watch). */
export async function connectTopicIdReader(kafka: Kafka): Promise<TopicIdReader> {
  const createCluster = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  if (!createCluster) return { topicId: async () => undefined, disconnect: async () => undefined };
  const cluster: KafkaCluster = (kafka as any)[createCluster]({ allowAutoTopicCreation: false });
  await cluster.connect();
  return {
    async topicId(topic) {
      // Any broker answers Metadata: the seed one, reconnected by connect() if it dropped.
      await cluster.connect();
      const broker = cluster.brokerPool.seedBroker;
      const version = Math.min(MAX_VERSION, broker?.versions?.[METADATA_API_KEY]?.maxVersion ?? 0);
      if (!broker || version < MIN_VERSION) return undefined;
      return await broker.connectionPool.send(metadataRequest(version, topic));
    },
    disconnect: () => cluster.disconnect(),
  };
}

/** One look-up on a connection opened and closed for it. */
export async function fetchTopicId(kafka: Kafka, topic: string): Promise<TopicId> {
  const reader = await connectTopicIdReader(kafka);
  try {
    return await reader.topicId(topic);
  } finally {
    await reader.disconnect();
  }
}

function metadataRequest(version: number, topic: string) {
  // kafkajs ships no types for its protocol layer.
  const Encoder = require('kafkajs/src/protocol/encoder');
  const Decoder = require('kafkajs/src/protocol/decoder');
  const { failure, createErrorFromCode } = require('kafkajs/src/protocol/error');
  return {
    request: {
      apiKey: METADATA_API_KEY,
      apiVersion: version,
      apiName: 'Metadata',
      encode: async () => {
        const body = new Encoder()
          .writeUVarInt(0) // the request header's tagged fields
          .writeUVarInt(2) // topics: a compact array of one
          .writeBuffer(Buffer.alloc(16)) // topic_id: none, look up by name
          .writeUVarIntString(topic)
          .writeUVarInt(0)
          .writeBoolean(false); // allow_auto_topic_creation
        if (version === 10) body.writeBoolean(false); // include_cluster_authorized_operations
        return body.writeBoolean(false).writeUVarInt(0); // include_topic_authorized_operations, tagged fields
      },
    },
    response: {
      decode: async (rawData: Buffer) => {
        const decoder = new Decoder(rawData);
        decoder.readTaggedFields(); // the response header's
        decoder.readInt32(); // throttle_time_ms
        decoder.readUVarIntArray((d: any) => {
          d.readInt32();
          d.readUVarIntString();
          d.readInt32();
          d.readUVarIntString();
          d.readTaggedFields();
        });
        decoder.readUVarIntString(); // cluster_id
        decoder.readInt32(); // controller_id
        const [entry] = decoder.readUVarIntArray((d: any) => {
          const errorCode = d.readInt16();
          const name = d.readUVarIntString();
          const id = d.readBytes(16) as Buffer;
          return { errorCode, name, id };
        });
        // Only the first topic's head is read: the rest of the answer is not needed.
        return entry as { errorCode: number; name: string; id: Buffer };
      },
      parse: async ({ errorCode, id }: { errorCode: number; id: Buffer }): Promise<TopicId> => {
        if (errorCode === UNKNOWN_TOPIC_OR_PARTITION) return null;
        if (failure(errorCode)) throw createErrorFromCode(errorCode);
        if (id.every((byte) => byte === 0)) return undefined;
        // Kafka shows ids in URL-safe base64 without padding (kafka-topics --describe), so do we.
        return id.toString('base64url');
      },
    },
  };
}
