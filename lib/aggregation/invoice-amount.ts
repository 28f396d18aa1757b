/**
 * An invoice's amount, exactly: the sum of Quantity × UnitPrice over its kept lines, with each
 * cell's number read as the shortest decimal that round-trips its double (what Excel shows, and
 * what a CSV held), so no binary floating point enters the sum. Amounts are kept as whole units
 * of 10^-10 (the ledger's DECIMAL(30,10)); a line finer than that rounds half up at the tenth place.
 */
export const AMOUNT_SCALE = 10;
const UNIT = 10n ** BigInt(AMOUNT_SCALE);

/** The number's shortest round-trip decimal as digits × 10^-scale. */
function exactDecimal(value: number): { digits: bigint; scale: number } {
  // JavaScript's shortest round-trip text, e.g. "2.55", "1e-7", "1.5e+21".
  const [mantissa, exponentText] = String(value).split('e');
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  const [whole, fraction = ''] = mantissa.split('.');
  const scale = fraction.length - exponent;
  const digits = BigInt(whole + fraction);
  return scale >= 0 ? { digits, scale } : { digits: digits * 10n ** BigInt(-scale), scale: 0 };
}

/** Quantity × UnitPrice of one line, in units of 10^-10. */
export function lineAmount(quantity: number, unitPrice: number): bigint {
  const q = exactDecimal(quantity);
  const p = exactDecimal(unitPrice);
  const product = q.digits * p.digits;
  const shift = q.scale + p.scale - AMOUNT_SCALE;
  if (shift <= 0) return product * 10n ** BigInt(-shift);
  const divisor = 10n ** BigInt(shift);
  const sign = product < 0n ? -1n : 1n;
  const magnitude = product * sign;
  return sign * ((magnitude + divisor / 2n) / divisor);
}

/** Units of 10^-10 as the DECIMAL text MySQL takes, e.g. 1550000000n → "0.1550000000". */
export function amountText(units: bigint): string {
  const sign = units < 0n ? '-' : '';
  const magnitude = units < 0n ? -units : units;
  return `${sign}${magnitude / UNIT}.${(magnitude % UNIT).toString().padStart(AMOUNT_SCALE, '0')}`;
}
