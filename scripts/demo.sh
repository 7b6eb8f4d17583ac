#!/usr/bin/env bash
# make demo: two demo backends + the proxy on examples/quickstart.yaml, in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8080}
ADMIN_PORT=${ADMIN_PORT:-9090}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 0' INT TERM
for spec in backend-a:18001 backend-b:18002; do
  node e2e/testkit/bin/jairouter-demo-backend.js --name "${spec%%:*}" --port "${spec##*:}" >/dev/null &
  pids+=($!)
done
cat <<MSG

JAiRouter demo: proxy on http://127.0.0.1:$PORT (admin http://127.0.0.1:$ADMIN_PORT), two demo backends.
Try, from another terminal:

  curl -s http://127.0.0.1:$PORT/v1/chat/completions \\
    -H 'Authorization: Bearer sk-demo-jairouter' -H 'Content-Type: application/json' \\
    -d '{"model":"demo-chat","messages":[{"role":"user","content":"Hello!"}]}'

  node --input-type=module -e '
    import OpenAI from "openai";
    const client = new OpenAI({ baseURL: "http://127.0.0.1:$PORT/v1", apiKey: "sk-demo-jairouter" });
    const stream = await client.chat.completions.create({ model: "demo-chat", stream: true,
      messages: [{ role: "user", content: "Stream me a greeting" }] });
    for await (const c of stream) process.stdout.write(c.choices[0]?.delta?.content ?? "");
    console.log();'

  curl -s http://127.0.0.1:$ADMIN_PORT/metrics | grep jairouter_requests_total

Edit examples/quickstart.yaml to change routing live. Ctrl-C stops everything.

MSG
node proxy/bin/jairouter-proxy.js --config examples/quickstart.yaml \
  --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" &
pids+=($!)
wait "${pids[-1]}"
