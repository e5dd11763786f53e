/**
 * The seed's summary figure: the bounce rate is the percentage of the contacts a campaign was
 * sent to that bounced, rounded to two decimals; null when nobody was sent to.
 */
export function bounceRate(bounced: number, sentTo: number): number | null {
  if (sentTo <= 0) return null;
  return Math.round((bounced / sentTo) * 10_000) / 100;
}
