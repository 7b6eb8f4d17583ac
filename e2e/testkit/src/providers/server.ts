// The HTTP side every provider fake shares: a server on 127.0.0.1 that records each request
// (method, path, query, headers, body) and hands it to the fake's handler, plus small writers
// for JSON answers and event streams. The wire formats themselves live in each fake.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: string;
  /** The body's bytes (an upload's file may not be UTF-8). */
  bytes: Buffer;
  /** Parsed JSON body, or undefined. */
  json: unknown;
  /** Set when the peer went away before the answer was complete. */
  aborted: boolean;
}

export interface FakeServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

export type Handler = (req: FakeRequest, res: ServerResponse) => void | Promise<void>;

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const bytes = Buffer.concat(chunks);
      const raw = bytes.toString('utf8');
      let json: unknown;
      try {
        json = raw ? JSON.parse(raw) : undefined;
      } catch {
        json = undefined;
      }
      const rec: FakeRequest = { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, raw, bytes, json, aborted: false };
      requests.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) rec.aborted = true;
      });
      Promise.resolve(handler(rec, res)).catch((e: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: `fake failed: ${e.message}` } });
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Writes an event stream one event per write, yielding to the event loop between events, so
 * a client reading it sees the events arrive separately. Stops early when the peer is gone;
 * with `cutAfter`, destroys the connection after that many events (a provider dying mid-stream).
 */
export async function sendEvents(
  res: ServerResponse,
  contentType: string,
  events: Array<string | Buffer>,
  opts: { cutAfter?: number | undefined; delayMs?: number | undefined; headers?: Record<string, string> } = {},
): Promise<void> {
  const { cutAfter, delayMs = 0 } = opts;
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', ...opts.headers });
  for (let i = 0; i < events.length; i++) {
    if (res.destroyed) return;
    if (cutAfter !== undefined && i >= cutAfter) {
      res.destroy();
      return;
    }
    res.write(events[i]!);
    await new Promise((r) => (delayMs > 0 ? setTimeout(r, delayMs) : setImmediate(r)));
  }
  res.end();
}

/** One server-sent event: `event:` line when named, one `data:` line. */
export function sse(data: unknown, event?: string): string {
  return (event ? `event: ${event}\n` : '') + `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
