/**
 * A dashboard stand-in for http-console.bench.ts, in its own process. Off at start (prints `ready`);
 * SIGUSR1 turns it on: it logs in to the admin console, opens `/api/events` (reading every event)
 * and scrapes `/metrics` every second, as an open browser tab and Prometheus would, and prints
 * `on` after the first scrape. SIGUSR2 closes the stream, stops scraping and prints `off`. On
 * SIGTERM it prints a JSON summary line (scrapes, events, failures, slowest scrape) and exits.
 *
 * usage: node console-watcher.js URL PASSWORD
 */
const [url, password] = process.argv.slice(2);
if (url === undefined || password === undefined) {
  console.error('usage: console-watcher URL PASSWORD');
  process.exit(2);
}

const SCRAPE_INTERVAL_MS = 1000;
let scrapes = 0;
let events = 0;
let maxScrapeMs = 0;
let failures = 0;
let cookie: string | null = null;
let timer: NodeJS.Timeout | undefined;
let stream: AbortController | null = null;

async function scrape(): Promise<void> {
  const started = performance.now();
  const r = await fetch(`${url}/metrics`);
  await r.text();
  if (r.status !== 200) failures++;
  scrapes++;
  maxScrapeMs = Math.max(maxScrapeMs, performance.now() - started);
}

async function turnOn(): Promise<void> {
  if (cookie === null) {
    const login = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    });
    if (login.status !== 200) throw new Error(`login: ${login.status}`);
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  }
  const abort = new AbortController();
  stream = abort;
  const res = await fetch(`${url}/api/events`, { headers: { cookie }, signal: abort.signal });
  if (res.status !== 200 || res.body === null) throw new Error(`events: ${res.status}`);
  const reader = res.body.getReader();
  void (async () => {
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      events += decoder.decode(value, { stream: true }).split('\n\n').length - 1;
    }
  })().catch(() => undefined);
  await scrape();
  timer = setInterval(() => void scrape().catch(() => failures++), SCRAPE_INTERVAL_MS);
  process.stdout.write('on\n');
}

function turnOff(): void {
  clearInterval(timer);
  stream?.abort();
  stream = null;
  process.stdout.write('off\n');
}

process.on('SIGUSR1', () => {
  turnOn().catch((err: unknown) => {
    console.error(`console-watcher: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
});
process.on('SIGUSR2', turnOff);
process.on('SIGTERM', () => {
  clearInterval(timer);
  stream?.abort();
  process.stdout.write(
    `${JSON.stringify({ scrapes, events, failures, maxScrapeMs: Math.round(maxScrapeMs * 10) / 10 })}\n`,
  );
  process.exit(0);
});
// Keeps the process alive while off.
setInterval(() => undefined, 1 << 30);
process.stdout.write('ready\n');
