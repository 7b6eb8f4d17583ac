#!/usr/bin/env bash
# make demo: two demo backends + the proxy on examples/quickstart.yaml, in the foreground.
# Ports: PORT (the proxy's API, 8080), ADMIN_PORT (its admin port, 9090), BACKEND_A_PORT and
# BACKEND_B_PORT (the demo backends, 18001 and 18002). All on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PATH="$(scripts/node-env.sh):$PATH"
NODE=$(command -v node)
PORT=${PORT:-8080}
ADMIN_PORT=${ADMIN_PORT:-9090}
BACKEND_A_PORT=${BACKEND_A_PORT:-18001}
BACKEND_B_PORT=${BACKEND_B_PORT:-18002}
PORT_VARS=(PORT ADMIN_PORT BACKEND_A_PORT BACKEND_B_PORT)
declare -A ROLE=([PORT]="the proxy's API" [ADMIN_PORT]="the proxy's admin endpoints" [BACKEND_A_PORT]="demo backend A" [BACKEND_B_PORT]="demo backend B")
OVERRIDES="PORT (default 8080), ADMIN_PORT (9090), BACKEND_A_PORT (18001), BACKEND_B_PORT (18002)"

# Every port is checked before anything starts or the banner is printed, so a taken port ends
# the demo with a message that says which one and how to choose another, not with a banner
# followed by a stack of errors.
declare -A SEEN=()
for v in "${PORT_VARS[@]}"; do
  p=${!v}
  if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
    echo "make demo: $v=$p is not a port number (1-65535). Port variables: $OVERRIDES." >&2
    exit 2
  fi
  if [[ -n ${SEEN[$p]:-} ]]; then
    echo "make demo: $v and ${SEEN[$p]} are both $p; each needs a port of its own. Port variables: $OVERRIDES." >&2
    exit 2
  fi
  SEEN[$p]=$v
done
taken=$("$NODE" -e '
  const { createServer } = require("node:net");
  const check = (arg) => new Promise((resolve) => {
    const [name, port] = arg.split("=");
    const srv = createServer();
    srv.once("error", (e) => resolve(`${name} ${e.code}`));
    srv.listen(Number(port), "127.0.0.1", () => srv.close(() => resolve("")));
  });
  Promise.all(process.argv.slice(1).map(check)).then((r) => console.log(r.filter(Boolean).join("\n")));
' "PORT=$PORT" "ADMIN_PORT=$ADMIN_PORT" "BACKEND_A_PORT=$BACKEND_A_PORT" "BACKEND_B_PORT=$BACKEND_B_PORT")
if [[ -n $taken ]]; then
  while read -r v code; do
    why="is already in use"
    [[ $code == EADDRINUSE ]] || why="cannot be listened on ($code)"
    echo "make demo: port ${!v} ($v, ${ROLE[$v]}) $why on 127.0.0.1." >&2
  done <<<"$taken"
  echo "Stop what listens there, or choose other ports, e.g. PORT=8180 ADMIN_PORT=9190 BACKEND_A_PORT=18101 BACKEND_B_PORT=18102 make demo" >&2
  echo "(port variables: $OVERRIDES)." >&2
  exit 1
fi

CONFIG=examples/quickstart.yaml
tmp=
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -z $tmp ]] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 0' INT TERM
if [[ $BACKEND_A_PORT != 18001 || $BACKEND_B_PORT != 18002 ]]; then
  # The quick start names 18001 and 18002; other backend ports get a copy that names them.
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/jairouter-demo.XXXXXX")
  CONFIG=$tmp/quickstart.yaml
  sed -e "s|127\.0\.0\.1:18001/|127.0.0.1:$BACKEND_A_PORT/|g" -e "s|127\.0\.0\.1:18002/|127.0.0.1:$BACKEND_B_PORT/|g" examples/quickstart.yaml >"$CONFIG"
fi

for spec in "backend-a:$BACKEND_A_PORT" "backend-b:$BACKEND_B_PORT"; do
  "$NODE" e2e/testkit/bin/jairouter-demo-backend.js --name "${spec%%:*}" --port "${spec##*:}" >/dev/null &
  pids+=($!)
done
"$NODE" proxy/bin/jairouter-proxy.js --config "$CONFIG" \
  --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" &
proxy=$!
pids+=("$proxy")

# The banner comes once everything answers, so its commands work when it appears.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for ((i = 0; ; i++)); do
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "make demo: a process of the demo exited while starting (see its message above)." >&2
      exit 1
    fi
  done
  if listening "$PORT" && listening "$ADMIN_PORT" && listening "$BACKEND_A_PORT" && listening "$BACKEND_B_PORT"; then break; fi
  if ((i >= 300)); then
    echo "make demo: not every port answered within 30 s." >&2
    exit 1
  fi
  sleep 0.1
done

cat <<MSG

JAiRouter demo: proxy on http://127.0.0.1:$PORT (admin http://127.0.0.1:$ADMIN_PORT), two demo backends.
Try, from another terminal (in any directory):

  curl -s http://127.0.0.1:$PORT/v1/chat/completions \\
    -H 'Authorization: Bearer sk-demo-jairouter' -H 'Content-Type: application/json' \\
    -d '{"model":"demo-chat","messages":[{"role":"user","content":"Hello!"}]}'

  # the OpenAI SDK from this repository's node_modules, on the Node it runs on
  NODE_PATH="$ROOT/node_modules" "$NODE" -e '
    const OpenAI = require("openai");
    const client = new OpenAI({ baseURL: "http://127.0.0.1:$PORT/v1", apiKey: "sk-demo-jairouter" });
    (async () => {
      const stream = await client.chat.completions.create({ model: "demo-chat", stream: true,
        messages: [{ role: "user", content: "Stream me a greeting" }] });
      for await (const c of stream) process.stdout.write(c.choices[0]?.delta?.content ?? "");
      console.log();
    })();'

  curl -s http://127.0.0.1:$ADMIN_PORT/metrics | grep jairouter_requests_total

Edit $CONFIG to change routing live. Ctrl-C stops everything.

MSG
wait "$proxy"
