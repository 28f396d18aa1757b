/** Free loopback ports for servers a test (or the test runner) starts of its own. */
import net from 'node:net';

/**
 * The first of `count` consecutive free loopback ports, from a random start between 20000 and
 * 32000: below Linux's ephemeral range (32768 up), where no client connection takes one meanwhile,
 * and random so that parallel runs rarely meet.
 */
export async function freePorts(count: number): Promise<number> {
  for (;;) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const ports = Array.from({ length: count }, (_, index) => first + index);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return first;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
