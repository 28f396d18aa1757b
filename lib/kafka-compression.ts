/**
 * The publish step's record-batch compression (KAFKA_COMPRESSION), as kafkajs's CompressionTypes.
 * kafkajs brings gzip; LZ4 comes from lz4-napi (Rust's lz4_flex through N-API, prebuilt for
 * each platform in the registry package), in the LZ4 frame format Kafka's brokers and other
 * clients read. The codec is registered for every kafkajs client the project makes (lib/kafka.ts),
 * so the classify step's consumer reads LZ4 batches whichever worker published them.
 */
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import type { KafkaCompression } from './config';

export const COMPRESSION_TYPES: Record<KafkaCompression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  lz4: CompressionTypes.LZ4,
};

interface Lz4Napi {
  compressFrame(data: Buffer): Promise<Buffer>;
  decompressFrame(data: Buffer): Promise<Buffer>;
}

let registered = false;

/** Makes kafkajs able to write and read LZ4 record batches; once per process. */
export function registerCompressionCodecs(): void {
  if (registered) return;
  registered = true;
  // Loaded on first use: a process that never meets an LZ4 batch never loads the native module.
  let lz4: Lz4Napi | undefined;
  const codec = () => (lz4 ??= require('lz4-napi') as Lz4Napi);
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    async compress(encoder: { buffer: Buffer }) {
      return await codec().compressFrame(encoder.buffer);
    },
    async decompress(buffer: Buffer) {
      return await codec().decompressFrame(buffer);
    },
  });
}
