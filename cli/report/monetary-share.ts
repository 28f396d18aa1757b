/** A part of a Monetary total as a percentage with one decimal, from the exact decimal texts (cents in bigint, no double). */
export function monetaryShare(part: string, whole: string): string {
  const total = cents(whole);
  if (total <= 0n) return '–';
  // Tenths of a percent, rounded half up.
  const tenths = (cents(part) * 2000n + total) / (2n * total);
  return `${tenths / 10n}.${tenths % 10n}%`;
}

/** "8911407.90" → 891140790n; MySQL gives DECIMAL(30,2) sums with two decimals, a plain integer is whole units. */
export function cents(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  const negative = whole.startsWith('-');
  const value = BigInt(whole.replace('-', '') || '0') * 100n + BigInt((fraction + '00').slice(0, 2));
  return negative ? -value : value;
}
