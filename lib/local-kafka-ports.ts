/**
 * Where the local stack's Kafka brokers listen. Broker 1 serves on the ports the settings name:
 * KAFKA_BROKERS' port for clients, KAFKA_CONTROLLER_PORT for the KRaft quorum and KAFKA_SASL_PORT
 * for clients that log in. Broker n serves on each of those plus 3 × (n − 1), so with the defaults
 * a three-broker cluster takes the consecutive ports 9092 to 9100:
 *
 *   broker 1: 9092 clients, 9093 controller, 9094 SASL
 *   broker 2: 9095 clients, 9096 controller, 9097 SASL
 *   broker 3: 9098 clients, 9099 controller, 9100 SASL
 */
export const PORTS_PER_BROKER = 3;

/** The port broker `brokerId` (1, 2, ...) uses where broker 1 uses `firstBrokerPort`. */
export function localBrokerPort(firstBrokerPort: number, brokerId: number): number {
  return firstBrokerPort + PORTS_PER_BROKER * (brokerId - 1);
}

/** "host:port" of every local broker, from broker 1's address. */
export function localBrokerAddresses(firstBroker: string, count: number): string[] {
  const separator = firstBroker.lastIndexOf(':');
  const host = firstBroker.slice(0, separator);
  const port = Number(firstBroker.slice(separator + 1));
  return Array.from({ length: count }, (_, index) => `${host}:${localBrokerPort(port, index + 1)}`);
}
