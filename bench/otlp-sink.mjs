// OTLP/HTTP trace sink for the tracing targets of bench/run.sh (jairouter_trace10, _trace100).
//   POST <prefix>/v1/traces  -> 200, Content-Type application/x-protobuf, empty body (an empty
//                               ExportTraceServiceResponse: everything accepted). The body is
//                               walked, not decoded: spans are counted per prefix (resource_spans
//                               -> scope_spans -> spans), and so are root spans (no
//                               parent_span_id): one per sampled request, since wrk sends no
//                               traceparent. gzip bodies are inflated first.
//   GET  /stats              -> {"<prefix>": {posts, bytes, spans, roots, malformed, names: {name: count}}, ...}
//   GET  /count/<prefix>     -> "posts bytes spans roots" (plain text, for run.sh)
//   POST /stats/reset        -> zero the counters
// Each traced proxy gets its own prefix in OTEL_EXPORTER_OTLP_ENDPOINT (http://127.0.0.1:9318/trace10
// -> POST /trace10/v1/traces), so the counts are per process without touching the spans.
// Env: PORT (9318), HOST (127.0.0.1).
import http from 'node:http';
import zlib from 'node:zlib';

const PORT = Number(process.env.PORT || 9318);
const HOST = process.env.HOST || '127.0.0.1';

let stats = {};
const bucket = (p) => (stats[p] ??= { posts: 0, bytes: 0, spans: 0, roots: 0, malformed: 0, names: {} });

// protobuf wire format: a varint at buf[i], returned with the offset after it
function varint(buf, i) {
  let v = 0, mul = 1, b;
  do {
    if (i >= buf.length) throw new Error('truncated varint');
    b = buf[i++];
    v += (b & 0x7f) * mul;
    mul *= 128;
  } while (b & 0x80);
  return [v, i];
}
// calls fn(field, start, end) for every length-delimited field of the message in buf[start, end)
function fields(buf, start, end, fn) {
  let i = start;
  while (i < end) {
    let key; [key, i] = varint(buf, i);
    const field = Math.floor(key / 8), wire = key & 7;
    if (wire === 0) [, i] = varint(buf, i);
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) { let n; [n, i] = varint(buf, i); fn(field, i, i + n); i += n; }
    else throw new Error(`wire type ${wire}`);
  }
  if (i !== end) throw new Error('overrun');
}
function count(buf, b) {
  // ExportTraceServiceRequest.resource_spans = 1; ResourceSpans.scope_spans = 2; ScopeSpans.spans = 2;
  // Span.parent_span_id = 4, Span.name = 5
  fields(buf, 0, buf.length, (f, s, e) => f === 1 && fields(buf, s, e, (f, s, e) => f === 2 && fields(buf, s, e, (f, s, e) => {
    if (f !== 2) return;
    b.spans++;
    let parent = false, name = '';
    fields(buf, s, e, (f, s, e) => {
      if (f === 4 && e > s) parent = true;
      else if (f === 5) name = buf.toString('utf8', s, e);
    });
    if (!parent) b.roots++;
    b.names[name] = (b.names[name] || 0) + 1;
  })));
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(stats, null, 1));
    }
    if (req.method === 'GET' && req.url.startsWith('/count/')) { // "posts bytes spans roots" for run.sh
      const b = stats[req.url.slice(7)] ?? { posts: 0, bytes: 0, spans: 0, roots: 0 };
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(`${b.posts} ${b.bytes} ${b.spans} ${b.roots}\n`);
    }
    if (req.method === 'POST' && req.url === '/stats/reset') { stats = {}; res.writeHead(204); return res.end(); }
    const m = req.method === 'POST' && /^(.*)\/v1\/traces$/.exec(req.url);
    if (!m) { res.writeHead(404); return res.end(); }
    const b = bucket(m[1].replace(/^\//, '') || '/');
    let body = Buffer.concat(chunks);
    b.posts++;
    b.bytes += body.length;
    try {
      if (/gzip/i.test(req.headers['content-encoding'] || '')) body = zlib.gunzipSync(body);
      count(body, b);
    } catch {
      b.malformed++;
    }
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
    res.end();
  });
}).listen(PORT, HOST, () => console.log(`otlp sink on http://${HOST}:${PORT}`));
