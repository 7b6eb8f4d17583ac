// Summarise results.jsonl from bench/run.sh: medians over reps per (load, mode, target), each
// metric also as a ratio to nginx, and JAiRouter vs Portkey; tracing (off / 10 % / 100 %) and the
// proxy before the gen_ai metrics against jairouter, with the OTLP sink's span counts.
// Adapted from ../shared/bench/summarize.mjs.
// usage: node bench/summarize.mjs bench/results/<stamp>/results.jsonl [more.jsonl ...]
import fs from 'node:fs';
import path from 'node:path';

const rows = process.argv.slice(2).flatMap((f) => fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
const med = (a) => { const s = a.filter(Number.isFinite).sort((x, y) => x - y); const n = s.length; return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN; };
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const ms = (us) => (Number.isFinite(us) ? (us / 1000).toFixed(Math.abs(us) < 10000 ? 2 : 1) : '-');
// '-' unless both are positive: a ratio of added latencies where the reference added nothing (or
// came out below its baseline, which happens for SSE at fixed rate) means nothing.
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0 ? `${(a / b).toFixed(a / b < 10 ? 2 : 1)}×` : '-');

const groups = new Map();
for (const r of rows) {
  if (!r.wrk || r.wrk.requests == null) continue;
  const k = `${r.load}|${r.mode}|${r.target}`;
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(r);
}
const order = ['direct', 'direct_shared', 'nginx', 'portkey', 'litellm', 'bare', 'custom', 'jairouter_before', 'jairouter', 'jairouter_trace10', 'jairouter_trace100',
  'jairouter_anthropic', 'jairouter_bedrock', 'jairouter_limits_local', 'jairouter_limits_cluster'];
const agg = new Map();
for (const [k, rs] of groups) {
  agg.set(k, {
    n: rs.length,
    rps: med(rs.map((r) => r.wrk.requests / (r.wrk.duration_us / 1e6))),
    cpuUs: med(rs.map((r) => (r.sut_cpu_s * 1e6) / r.wrk.requests)),
    cpuPct: med(rs.map((r) => (r.sut_cpu_s / r.duration_s) * 100)),
    p50: med(rs.map((r) => r.wrk.lat_p50_us)), p99: med(rs.map((r) => r.wrk.lat_p99_us)), p999: med(rs.map((r) => r.wrk.lat_p999_us)),
    rssStart: med(rs.map((r) => r.rss_start_kb)) / 1024, anonStart: med(rs.map((r) => r.rss_start_anon_kb ?? NaN)) / 1024, rssMax: Math.max(...rs.map((r) => r.rss_max_kb)) / 1024,
    cpu0: med(rs.map((r) => r.cpu0_busy_pct)), steal: med(rs.map((r) => r.cpu0_steal_pct + r.cpu1_steal_pct)),
    logB: med(rs.map((r) => r.log_bytes / r.wrk.requests)),
    redisUs: med(rs.map((r) => (r.redis_cpu_s * 1e6) / r.wrk.requests)),
    cpuUsByRep: new Map(rs.map((r) => [r.rep, (r.sut_cpu_s * 1e6) / r.wrk.requests])),
    cpuUsMin: Math.min(...rs.map((r) => (r.sut_cpu_s * 1e6) / r.wrk.requests)), cpuUsMax: Math.max(...rs.map((r) => (r.sut_cpu_s * 1e6) / r.wrk.requests)),
    // what the OTLP sink received during the runs of a traced proxy, per request wrk completed
    otlpSpans: rs.some((r) => r.otlp_spans != null) ? rs.reduce((s, r) => s + (r.otlp_spans ?? 0), 0) : NaN,
    otlpRoots: rs.some((r) => r.otlp_roots != null) ? rs.reduce((s, r) => s + (r.otlp_roots ?? 0), 0) : NaN,
    otlpBytes: rs.some((r) => r.otlp_bytes != null) ? rs.reduce((s, r) => s + (r.otlp_bytes ?? 0), 0) : NaN,
    errors: rs.reduce((s, r) => s + r.wrk.err_status + r.wrk.err_connect + r.wrk.err_read + r.wrk.err_write + r.wrk.err_timeout, 0),
    wrkReq: rs.reduce((s, r) => s + r.wrk.requests, 0), mockReq: rs.reduce((s, r) => s + r.mock_requests, 0),
  });
}

const out = [];
const loadName = { sat: 'Saturation', r200: 'Fixed rate ≤200 req/s', r1000: 'Fixed rate ≤1000 req/s' };
for (const load of ['sat', 'r200', 'r1000']) {
  for (const mode of ['json', 'sse']) {
    const targets = order.filter((t) => agg.has(`${load}|${mode}|${t}`));
    if (!targets.length) continue;
    const get = (t) => agg.get(`${load}|${mode}|${t}`);
    const baseName = get('direct_shared') ? 'direct_shared' : 'direct';
    const base = get(baseName);
    const ng = get('nginx');
    const any = groups.get(`${load}|${mode}|${targets[0]}`)[0];
    const added = (a, q) => (base && a !== base ? a[q] - base[q] : NaN);
    const perCore = (a) => 1e6 / a.cpuUs;
    out.push(`\n### ${loadName[load]}: ${mode === 'json' ? 'non-streaming JSON' : 'SSE streaming (20 chunks)'} ` +
      `(wrk -t1 -c${any.conns} ${any.duration_s}s${any.delay_ms ? `, ${any.delay_ms} ms pause per conn` : ''}; medians of ${get(targets[0]).n})\n`);
    out.push(`| target | req/s | req/s per core (×nginx) | CPU µs/req (×nginx) | SUT CPU % | p50 / p99 ms | added p50 ms over ${baseName} (×nginx) | added p99 ms (×nginx) | added p99.9 ms (×nginx) | RSS idle MB (×nginx) | RSS max MB (×nginx) | cpu0 busy % | errors |`);
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const cells = (a) => [
      f0(perCore(a)) + (ng ? ` (${ratio(perCore(a), perCore(ng))})` : ''),
      f1(a.cpuUs) + (ng ? ` (${ratio(a.cpuUs, ng.cpuUs)})` : ''),
      f0(a.cpuPct),
      `${ms(a.p50)} / ${ms(a.p99)}`,
      ms(added(a, 'p50')) + (ng && a !== base ? ` (${ratio(added(a, 'p50'), added(ng, 'p50'))})` : ''),
      ms(added(a, 'p99')) + (ng && a !== base ? ` (${ratio(added(a, 'p99'), added(ng, 'p99'))})` : ''),
      ms(added(a, 'p999')) + (ng && a !== base ? ` (${ratio(added(a, 'p999'), added(ng, 'p999'))})` : ''),
      f1(a.rssStart) + (ng ? ` (${ratio(a.rssStart, ng.rssStart)})` : ''),
      f1(a.rssMax) + (ng ? ` (${ratio(a.rssMax, ng.rssMax)})` : ''),
    ];
    for (const t of targets) {
      const a = get(t);
      out.push(`| ${t} | ${f0(a.rps)} | ${cells(a).join(' | ')} | ${f0(a.cpu0)} | ${a.errors} |`);
    }
    // JAiRouter against Portkey, and against the bare Node proxy (what Node itself costs here).
    // The translating routes and the limited routes against the pass-through route of the same process.
    for (const [me, peer] of [['jairouter', 'portkey'], ['jairouter', 'litellm'], ['jairouter', 'bare'], ['jairouter_anthropic', 'jairouter'], ['jairouter_bedrock', 'jairouter'],
      ['jairouter_limits_local', 'jairouter'], ['jairouter_limits_cluster', 'jairouter'],
      ['jairouter_trace10', 'jairouter'], ['jairouter_trace100', 'jairouter'], ['jairouter', 'jairouter_before']]) {
      const [j, p] = [get(me), get(peer)];
      if (!j || !p) continue;
      out.push(`| **${me} ÷ ${peer}** | ${ratio(j.rps, p.rps)} | ${ratio(perCore(j), perCore(p))} | ${ratio(j.cpuUs, p.cpuUs)} | | ` +
        `${ratio(j.p50, p.p50)} / ${ratio(j.p99, p.p99)} | ${ratio(added(j, 'p50'), added(p, 'p50'))} | ${ratio(added(j, 'p99'), added(p, 'p99'))} | ${ratio(added(j, 'p999'), added(p, 'p999'))} | ` +
        `${ratio(j.rssStart, p.rssStart)} | ${ratio(j.rssMax, p.rssMax)} | | |`);
    }
  }
}
// Issue 14's targets, each from this run's medians: '-' where the run lacks a row it needs
// (make bench's defaults run them all).
{
  const A = (load, mode, t) => agg.get(`${load}|${mode}|${t}`);
  const addedOf = (load, mode, t, q) => {
    const a = A(load, mode, t), b = A(load, mode, load === 'sat' ? 'direct' : 'direct_shared');
    return a && b ? a[q] - b[q] : NaN;
  };
  const verdict = (x, limit) => (Number.isFinite(x) ? (x <= limit ? 'met' : 'not met') : '-');
  const x2 = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '-');
  const rowsT = [];
  for (const load of ['r200', 'r1000']) {
    for (const mode of ['json', 'sse']) {
      // Only where both add something over the baseline: at fixed rate the SSE baseline (the mock
      // beside wrk) is often slower than the proxied runs, and a ratio of negatives means nothing.
      const [ours, theirs] = [addedOf(load, mode, 'jairouter', 'p99'), addedOf(load, mode, 'nginx', 'p99')];
      const r = ours > 0 && theirs > 0 ? ours / theirs : NaN;
      const why = Number.isFinite(r) ? '' : ` (added p99: ${ms(ours)} ms vs ${ms(theirs)} ms; not comparable)`;
      // The floor of the runtime: the bare node:http + undici pipe's own added p99 against nginx's.
      const bare = addedOf(load, mode, 'bare', 'p99');
      const floor = bare > 0 && theirs > 0 ? `; the bare pipe: ${x2(bare / theirs)}` : '';
      rowsT.push([`tail: added p99 at ${load}, ${mode}, ÷ nginx's (p99.9: ${ms(addedOf(load, mode, 'jairouter', 'p999'))} ms vs ${ms(addedOf(load, mode, 'nginx', 'p999'))} ms${floor})${why}`, '≤ 2×', x2(r), verdict(r, 2)]);
    }
  }
  for (const mode of ['json', 'sse']) {
    const r = A('r200', mode, 'jairouter')?.cpuUs / A('sat', mode, 'jairouter')?.cpuUs;
    rowsT.push([`light load: CPU µs/req at r200 ÷ at saturation, ${mode}`, '≤ 2.5×', x2(r), verdict(r, 2.5)]);
  }
  for (const mode of ['json', 'sse']) {
    const r = A('sat', mode, 'jairouter')?.cpuUs / A('sat', mode, 'bare')?.cpuUs;
    rowsT.push([`saturation: CPU µs/req ÷ the bare node:http + undici pipe, ${mode}`, '≤ 1.15×', x2(r), verdict(r, 1.15)]);
  }
  for (const mode of ['json', 'sse']) {
    const r = A('sat', mode, 'jairouter_trace10')?.cpuUs / A('sat', mode, 'jairouter')?.cpuUs;
    rowsT.push([`tracing at 10 %: CPU µs/req ÷ tracing off, ${mode}`, '≤ 1.05×', x2(r), verdict(r, 1.05)]);
  }
  const j = [...agg].filter(([k]) => k.endsWith('|jairouter')).map(([, a]) => a);
  const idle = j.length ? med(j.map((a) => a.rssStart)) : NaN;
  const max = j.length ? Math.max(...j.map((a) => a.rssMax)) : NaN;
  const anon = j.length ? med(j.map((a) => a.anonStart)) : NaN;
  const bareAgg = [...agg].filter(([k]) => k.endsWith('|bare')).map(([, a]) => a);
  const bareIdle = bareAgg.length ? `; the bare pipe: ${f1(med(bareAgg.map((a) => a.rssStart)))} MB, ${f1(med(bareAgg.map((a) => a.anonStart)))} private` : '';
  rowsT.push([`memory: idle RSS (MB, before any traffic; private ${f1(anon)} MB, the rest mapped files, mostly the node binary${bareIdle})`, '≤ 60', f1(idle), verdict(idle, 60)]);
  rowsT.push(['memory: RSS max over every run of `jairouter` (MB)', '≤ 150', f1(max), verdict(max, 150)]);
  out.push('\n### Issue 14 targets in this run\n');
  out.push('Connections, config scale and swap, the soak and restarts are measured by their own scripts (bench/README.md).\n');
  out.push('| target | limit | this run | |');
  out.push('|---|---|---|---|');
  for (const r of rowsT) out.push(`| ${r.join(' | ')} |`);
}
// Tracing (off, 10 %, 100 % sampled) and the metrics path (before the gen_ai series, now): CPU per
// request of the proxy process, its spread over the reps, and the ratio per interleaved round.
const traceTargets = ['jairouter_before', 'jairouter', 'jairouter_trace10', 'jairouter_trace100'];
for (const load of ['sat', 'r200', 'r1000']) {
  const modes = ['json', 'sse'].filter((m) => traceTargets.filter((t) => agg.has(`${load}|${m}|${t}`)).length > 1);
  if (!modes.length) continue;
  out.push(`\n### Tracing and the metrics path (${loadName[load]}): CPU µs per request of the proxy process\n`);
  out.push('Median over the reps (min–max); ratio of the medians, and (min–max) of the same ratio within each interleaved round. ' +
    'Spans and root spans (= sampled requests) are what the OTLP sink received during the runs, per request completed.\n');
  out.push('| target | mode | CPU µs/req (min–max) | ÷ jairouter (per round) | ÷ jairouter_before (per round) | spans/req | sampled (root spans/req) | OTLP bytes/req |');
  out.push('|---|---|---|---|---|---|---|---|');
  const byRound = (a, b) => {
    const rs = [...a.cpuUsByRep].filter(([rep]) => b.cpuUsByRep.has(rep)).map(([rep, v]) => v / b.cpuUsByRep.get(rep));
    return rs.length ? `${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}` : '-';
  };
  const rel = (a, b) => (a && b && a !== b ? `${ratio(a.cpuUs, b.cpuUs)} (${byRound(a, b)})` : '');
  for (const mode of modes) {
    const get = (t) => agg.get(`${load}|${mode}|${t}`);
    for (const t of traceTargets) {
      const a = get(t);
      if (!a) continue;
      const per = (x) => (Number.isFinite(x) ? (x / a.wrkReq).toFixed(3) : '');
      out.push(`| ${t} | ${mode} | ${f1(a.cpuUs)} (${f1(a.cpuUsMin)}–${f1(a.cpuUsMax)}) | ${rel(a, get('jairouter'))} | ${rel(a, get('jairouter_before'))} | ` +
        `${per(a.otlpSpans)} | ${per(a.otlpRoots)} | ${Number.isFinite(a.otlpBytes) ? f0(a.otlpBytes / a.wrkReq) : ''} |`);
    }
  }
}
// the OTLP sink's totals over the whole run (run.sh writes otlp-sink.json beside results.jsonl)
for (const f of process.argv.slice(2)) {
  const sink = path.join(path.dirname(f), 'otlp-sink.json');
  if (!fs.existsSync(sink)) continue;
  const st = JSON.parse(fs.readFileSync(sink, 'utf8'));
  out.push(`\n### OTLP sink totals (${path.basename(path.dirname(f))}: warm-ups, smoke tests and measurements)\n`);
  out.push('| proxy | POSTs | bytes | spans | root spans (sampled requests) | malformed | spans by name |');
  out.push('|---|---|---|---|---|---|---|');
  for (const [p, b] of Object.entries(st)) {
    const names = Object.entries(b.names).sort((x, y) => y[1] - x[1]).map(([n, c]) => `${n}: ${c}`).join(', ');
    out.push(`| jairouter_${p} | ${b.posts} | ${b.bytes} | ${b.spans} | ${b.roots} | ${b.malformed} | ${names} |`);
  }
}
// Cluster-scope limits also cost Redis CPU, which is not in the proxy's CPU µs/req.
const redisRows = [...agg].filter(([k, a]) => k.endsWith('|jairouter_limits_cluster') && Number.isFinite(a.redisUs));
if (redisRows.length) {
  out.push('\n### Redis CPU of the Cluster-scope limits (not in the proxy\'s CPU µs/req above)\n');
  out.push('| load | mode | redis-server CPU µs/req |');
  out.push('|---|---|---|');
  for (const [k, a] of redisRows) out.push(`| ${k.split('|')[0]} | ${k.split('|')[1]} | ${f1(a.redisUs)} |`);
}
out.push('\n### Proof of routing: requests completed by wrk vs received by the mock (summed over reps)\n');
out.push('| load | mode | target | wrk completed | mock received | log bytes/req |');
out.push('|---|---|---|---|---|---|');
for (const [k, a] of agg) {
  const [load, mode, t] = k.split('|');
  if (!t.startsWith('direct')) out.push(`| ${load} | ${mode} | ${t} | ${a.wrkReq} | ${a.mockReq} | ${f0(a.logB)} |`);
}
const steal = med(rows.map((r) => r.cpu0_steal_pct + r.cpu1_steal_pct));
out.push(`\nMedian hypervisor steal (cpu0+cpu1) over all runs: ${f1(steal)} %. cpu0 (wrk + mock) near 100 % busy means the load generator, not the proxy, capped req/s: compare CPU µs/req then.`);
console.log(out.join('\n'));
