/**
 * An invoice's amount, exactly: the sum of Quantity × UnitPrice over its kept lines, with each
 * cell's number read as the shortest decimal that round-trips its double (what Excel shows, and
 * what a CSV held), so no binary floating point enters the sum. Amounts are kept as whole units
 * of 10^-10 (the ledger's DECIMAL(30,10)); a line finer than that rounds half up at the tenth place.
 */
export const AMOUNT_SCALE = 10;
const UNIT = 10n ** BigInt(AMOUNT_SCALE);

/** Powers of ten, as numbers (exact up to 10^22) and as bigints. */
const POW10 = Array.from({ length: AMOUNT_SCALE + 1 }, (_, k) => 10 ** k);
const POW10N = Array.from({ length: 40 }, (_, k) => 10n ** BigInt(k));
const pow10n = (k: number) => (k < POW10N.length ? POW10N[k] : 10n ** BigInt(k));
/** Below this, a scaled value's nearest integer is found exactly by Math.round (see shortDecimal). */
const FAST_LIMIT = 2 ** 50;

/** The number's shortest round-trip decimal as digits × 10^-scale, from its text: any double. */
function decimalOfText(value: number): { digits: bigint; scale: number } {
  // JavaScript's shortest round-trip text, e.g. "2.55", "1e-7", "1.5e+21".
  const [mantissa, exponentText] = String(value).split('e');
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  const [whole, fraction = ''] = mantissa.split('.');
  const scale = fraction.length - exponent;
  const digits = BigInt(whole + fraction);
  return scale >= 0 ? { digits, scale } : { digits: digits * pow10n(-scale), scale: 0 };
}

/**
 * The same decimal without text, for the numbers a workbook holds (quantities, prices): the
 * smallest scale k at which some integer n has n / 10^k === value. While |value × 10^k| < 2^50,
 * a decimal of k places that rounds to the double lies within 1/8 of value × 10^k, and the product
 * is computed within 1/16, so Math.round finds it and it is the only one: the shortest decimal.
 * Past that, or finer than 10 places: undefined, and the text decides.
 */
function shortDecimal(value: number): { digits: number; scale: number } | undefined {
  for (let scale = 0; scale <= AMOUNT_SCALE; scale++) {
    const scaled = value * POW10[scale];
    if (!(Math.abs(scaled) < FAST_LIMIT)) return undefined;
    const digits = Math.round(scaled);
    if (digits / POW10[scale] === value) return { digits, scale };
  }
  return undefined;
}

/** Quantity × UnitPrice of one line, in units of 10^-10. */
export function lineAmount(quantity: number, unitPrice: number): bigint {
  const q = shortDecimal(quantity);
  const p = shortDecimal(unitPrice);
  if (q !== undefined && p !== undefined && Number.isSafeInteger(q.digits * p.digits)) {
    return scaledToUnits(BigInt(q.digits * p.digits), q.scale + p.scale);
  }
  const qt = decimalOfText(quantity);
  const pt = decimalOfText(unitPrice);
  return scaledToUnits(qt.digits * pt.digits, qt.scale + pt.scale);
}

/** digits × 10^-scale in units of 10^-10, half up (away from zero) past the tenth place. */
function scaledToUnits(product: bigint, scale: number): bigint {
  const shift = scale - AMOUNT_SCALE;
  if (shift <= 0) return product * pow10n(-shift);
  const divisor = pow10n(shift);
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
