// Client traffic through a proxy: the OpenAI SDK for chat, plain fetch for /v1/models and
// /readyz (polled in tight loops, where an SDK client per call would only add noise).
import OpenAI from 'openai';
import type { ProxyProcess } from '@jairouter/testkit/processes';

export function sdk(proxy: ProxyProcess, apiKey: string): OpenAI {
  // No SDK retries: every request is seen as sent.
  return new OpenAI({ baseURL: `${proxy.baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

/** The reply text of one chat completion through the proxy (throws on an HTTP error). */
export async function chat(proxy: ProxyProcess, apiKey: string, model: string, say = 'ping'): Promise<string> {
  const r = await sdk(proxy, apiKey).chat.completions.create({ model, messages: [{ role: 'user', content: say }] });
  return r.choices[0]?.message.content ?? '';
}

/** The HTTP status of a chat request (no throw), for the 401/404 cases. */
export async function chatStatus(proxy: ProxyProcess, apiKey: string, model: string): Promise<number> {
  const r = await fetch(`${proxy.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'ping' }] }),
  });
  await r.arrayBuffer();
  return r.status;
}

/** The model ids /v1/models lists for this key (empty on an error status). */
export async function models(proxy: ProxyProcess, apiKey: string): Promise<string[]> {
  const r = await fetch(`${proxy.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (r.status !== 200) {
    await r.arrayBuffer();
    return [];
  }
  const body = (await r.json()) as { data?: { id: string }[] };
  return (body.data ?? []).map((m) => m.id);
}

export async function readyz(proxy: ProxyProcess): Promise<{ status: number; ready?: boolean; configVersion?: string }> {
  const r = await fetch(`${proxy.adminUrl}/readyz`);
  return { status: r.status, ...((await r.json()) as { ready?: boolean; configVersion?: string }) };
}

/** Nearest-rank percentile of the samples. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Chat through every proxy every 100 ms until stopped; counts what did not start with `expectPrefix` (the fake's answer). */
export function keepTalking(proxies: () => ProxyProcess[], key: string, model: () => string, expectPrefix = 'Hello from alpha:') {
  let stopped = false;
  const failures: string[] = [];
  let ok = 0;
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(proxies().map(async (p) => {
        try {
          const text = await chat(p, key, model());
          if (text.startsWith(expectPrefix)) ok++;
          else failures.push(`${p.name}: ${text}`);
        } catch (e) {
          failures.push(`${p.name}: ${(e as Error).message}`);
        }
      }));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { ok, failures };
    },
  };
}
