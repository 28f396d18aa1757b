/** A worker's /metrics, scraped and read as Prometheus' text format, for the tests that check what it serves. */
import { setTimeout as sleep } from 'node:timers/promises';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  text: string;
  samples: Sample[];
  /** The samples of one series name whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The one sample of that name and labels; undefined if there is none, an error if several. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

export async function scrape(address: string): Promise<Scrape> {
  const response = await fetch(`http://${address}/metrics`);
  if (!response.ok) throw new Error(`GET http://${address}/metrics: ${response.status}`);
  return parsePrometheusText(await response.text());
}

export function parsePrometheusText(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[label[1]] = label[2].replace(/\\(.)/g, '$1');
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  return {
    text,
    samples,
    find,
    value(name, labels) {
      const found = find(name, labels);
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels ?? {})}`);
      return found[0]?.value;
    },
  };
}

/** Scrapes until `ready` says the scrape is what the test waits for; fails with the last scrape's text after `timeoutMs`. */
export async function scrapeUntil(address: string, ready: (scrape: Scrape) => boolean, what: string, timeoutMs = 90_000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  let last: Scrape | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await scrape(address);
      if (ready(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = last ? last.text.split('\n').filter((line) => line.startsWith('segmentation_')).join('\n') : String(lastError);
      throw new Error(`${what}: not after ${timeoutMs / 1000}s at ${address}; last seen:\n${seen}`);
    }
    await sleep(250);
  }
}
