/**
 * lineAmount finds each cell's shortest decimal without text for the numbers workbooks hold; it
 * must give exactly what the text of the number gives, for any double.
 */
import { lineAmount } from '../../lib/aggregation/invoice-amount';

/** The reference: the shortest round-trip text of each number, multiplied as decimals. */
function amountOfText(quantity: number, unitPrice: number): bigint {
  const decimal = (value: number) => {
    const [mantissa, exponent = '0'] = String(value).split('e');
    const [whole, fraction = ''] = mantissa.split('.');
    return { digits: BigInt(whole + fraction), scale: fraction.length - Number(exponent) };
  };
  const q = decimal(quantity);
  const p = decimal(unitPrice);
  const product = q.digits * p.digits;
  const shift = q.scale + p.scale - 10;
  if (shift <= 0) return product * 10n ** BigInt(-shift);
  const divisor = 10n ** BigInt(shift);
  const magnitude = product < 0n ? -product : product;
  const rounded = (magnitude + divisor / 2n) / divisor;
  return product < 0n ? -rounded : rounded;
}

/** A seeded generator, so a failure can be run again. */
function random(seed: number) {
  return () => {
    // In 32-bit integer arithmetic: a product in doubles would pass 2^53 and fall into a short cycle.
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
}

test('prices and quantities as shops write them', () => {
  expect(lineAmount(3, 2.55)).toBe(76_500_000_000n);
  expect(lineAmount(100, 0.333)).toBe(333_000_000_000n);
  expect(lineAmount(-12, 1.25)).toBe(-150_000_000_000n);
  expect(lineAmount(1, 0.1 + 0.2)).toBe(3_000_000_000n); // 0.30000000000000004: half up at the tenth place
  expect(lineAmount(1, 1e-11)).toBe(0n);
  expect(lineAmount(1, 5e-11)).toBe(1n);
  expect(lineAmount(1.5e21, 2)).toBe(3n * 10n ** 31n);
});

test('the edges of the fast path: signed zero, subnormals, 2^50 / 10^k one step either side, past 2^53', () => {
  const edges = [-0, 5e-324, 2 ** 53 + 2, 1e21, 1e-10, 5e-11];
  for (let k = 0; k <= 10; k++) {
    const limit = 2 ** 50 / 10 ** k;
    edges.push(limit, limit * (1 + Number.EPSILON), limit * (1 - Number.EPSILON), -limit);
  }
  for (const value of edges) {
    for (const other of [1, 3, 2.55, -0.5]) expect(lineAmount(other, value)).toBe(amountOfText(other, value));
  }
});

test.each([
  ['cents', (r: () => number) => Math.round(r() * 1e6) / 100],
  ['any number of places', (r: () => number) => Number((r() * 10 ** Math.floor(r() * 8)).toFixed(Math.floor(r() * 12)))],
  ['raw doubles', (r: () => number) => (r() - 0.5) * 10 ** Math.floor(r() * 30 - 15)],
  ['near the fast path limit', (r: () => number) => (r() < 0.5 ? -1 : 1) * (2 ** 50 / 10 ** Math.floor(r() * 11)) * (0.99 + r() * 0.02)],
  ['whole numbers', (r: () => number) => Math.floor((r() - 0.2) * 10 ** Math.floor(r() * 17))],
])('%s: the same as the text of the number, 50,000 draws', (_kind, draw) => {
  const r = random(7);
  for (let i = 0; i < 50_000; i++) {
    const quantity = i % 3 === 0 ? Math.floor(r() * 100) - 10 : draw(r);
    const unitPrice = draw(r);
    const amount = lineAmount(quantity, unitPrice);
    if (amount !== amountOfText(quantity, unitPrice)) {
      expect({ quantity, unitPrice, amount }).toEqual({ quantity, unitPrice, amount: amountOfText(quantity, unitPrice) });
    }
  }
});
