#!/usr/bin/env bash
# JAiRouter benchmark: our proxy next to the mock upstream (direct), nginx and the Portkey gateway,
# in one run, with one load generator (wrk). Adapted from the team's peer harness
# (../shared/bench/run.sh). See bench/README.md.
#   bash bench/run.sh                       quick suite (~20 min), prints the summary table
#   FULL=1 bash bench/run.sh                full suite (5 reps, longer runs; ~40 min)
#   bash bench/run.sh one TARGET MODE LOAD  one warm-up + one measurement, prints its JSON line
#   bash bench/run.sh serve                 start every server and keep them up until Ctrl-C
# Targets: direct direct_shared nginx portkey bare jairouter jairouter_before jairouter_trace10
#          jairouter_trace100 jairouter_anthropic jairouter_bedrock jairouter_limits_local
#          jairouter_limits_cluster litellm custom
# Modes: json sse    Loads: sat r200 r1000
set -uo pipefail
B=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$B/.." && pwd); cd "$B"
# the repo's Node (24, type stripping), whatever node the machine has (make sets this already)
NODE_BIN=$("$ROOT/scripts/node-env.sh") || { echo "cannot get the repo's Node (scripts/node-env.sh)" >&2; exit 1; }
export PATH="$NODE_BIN:$PATH"

if [[ ${FULL:-0} == 1 ]]; then
  : "${REPS:=5}" "${DURATION:=15}" "${RATE_DURATION:=10}" "${WARMUP:=8}"
fi
DURATION=${DURATION:-10}            # s per saturation run (wrk -t1 -c$CONNS, no pause)
CONNS=${CONNS:-50}
RATE_DURATION=${RATE_DURATION:-8}   # s per fixed-rate run
# fixed-rate loads: each connection pauses after every response (wrk delay()), so
#   r200  = 20 conns x 100 ms pause  => <=200 req/s offered
#   r1000 = 50 conns x  50 ms pause  => <=1000 req/s offered
REPS=${REPS:-3}
WARMUP=${WARMUP:-5}                 # s of unrecorded saturation load per target+mode before the reps
LOADS=${LOADS:-"sat r200 r1000"}   # issue 14's rows need all three
MODES=${MODES:-"json sse"}
[[ ${1:-} == one && -n ${2:-} ]] && TARGETS=$2   # `one TARGET`: start (and install) only what it needs
TARGETS=${TARGETS:-"direct direct_shared nginx portkey bare jairouter jairouter_before jairouter_trace10 jairouter_trace100 jairouter_anthropic jairouter_bedrock jairouter_limits_local jairouter_limits_cluster litellm"}
# load:target pairs not run. direct_shared (mock on the wrk core) is the latency baseline of the
# fixed-rate loads, direct (mock on its own core) the one of saturation. Portkey tops out at
# ~370 req/s per core, so a 1000 req/s load would only measure its saturation again; LiteLLM
# (one worker) saturates near 60 req/s, so it runs at saturation only.
# The translating path (jairouter_anthropic, jairouter_bedrock) and the limited routes
# (jairouter_limits_local, jairouter_limits_cluster) are reported at saturation: their CPU per
# request beside the pass-through path's. So are the proxy before the gen_ai metrics
# (jairouter_before) and the traced proxies (jairouter_trace10, jairouter_trace100).
SKIP=${SKIP:-"sat:direct_shared r200:direct r1000:direct r1000:portkey r1000:jairouter_anthropic r1000:jairouter_bedrock r200:jairouter_anthropic r200:jairouter_bedrock r1000:jairouter_limits_local r1000:jairouter_limits_cluster r200:jairouter_limits_local r200:jairouter_limits_cluster r1000:jairouter_before r200:jairouter_before r1000:jairouter_trace10 r200:jairouter_trace10 r1000:jairouter_trace100 r200:jairouter_trace100 r200:litellm r1000:litellm"}
LG_CPU=${LG_CPU:-0}    # wrk (and the mock, when something else is under test)
SUT_CPU=${SUT_CPU:-1}  # system under test
OUT=${OUT:-$B/results/$(date +%Y%m%d-%H%M%S)}
BENCH_KEY=sk-bench-000000000000     # the tenant key in jairouter.yaml (post.lua's default)
# the keys of the tenants held by limits (jairouter.yaml): the Local rules' and the Cluster rules'
declare -A KEY_OF=([jairouter_limits_local]=sk-bench-limits-local-0000 [jairouter_limits_cluster]=sk-bench-limits-cluster-00)
JAIROUTER_CONFIG=${JAIROUTER_CONFIG:-$B/jairouter.yaml}
# node flags of the proxy; by default the image's (Dockerfile NODE_OPTIONS), so the bench measures what ships.
# Add e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile.
JAIROUTER_NODE_ARGS=${JAIROUTER_NODE_ARGS-"--max-semi-space-size=4"}
JAIROUTER_ARGS=${JAIROUTER_ARGS:-}             # extra proxy flags, e.g. "--log-level warn" (no request logs)
MOCK_PORT=9001
REDIS_PORT=6390   # redis-server of the Cluster-scope limits (jairouter_limits_cluster), on the load-generator core
OTLP_PORT=9318    # otlp-sink.mjs, the traced proxies' OTLP/HTTP receiver, on the load-generator core
declare -A PORT=([direct]=$MOCK_PORT [direct_shared]=$MOCK_PORT [nginx]=9101 [portkey]=8787 [litellm]=9501
                 [jairouter]=9401 [jairouter_anthropic]=9401 [jairouter_bedrock]=9401
                 [jairouter_limits_local]=9401 [jairouter_limits_cluster]=9401
                 [jairouter_before]=9404 [jairouter_trace10]=9405 [jairouter_trace100]=9406
                 [custom]=${CUSTOM_PORT:-9402} [bare]=9403 [redis]=$REDIS_PORT [otlp_sink]=$OTLP_PORT)
# The proxy processes (the other jairouter_* targets are routes of the jairouter process), started
# alike: same config, same flags, pinned to the SUT core, each with its own port and admin port.
#   jairouter_before    the proxy as of BEFORE_REF (default c9859ba~1: the parent of the commit that
#                       added the OpenTelemetry gen_ai metric series), from a git worktree in
#                       bench/run/before (removed when run.sh exits): the metrics path before/after
#   jairouter_trace10   tracing on, OTEL_TRACES_SAMPLER=traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1
#   jairouter_trace100  tracing on, OTEL_TRACES_SAMPLER=always_on
# Both traced ones export OTLP/HTTP protobuf to otlp-sink.mjs (OTEL_BSP_* at their defaults), each
# under its own path prefix so the sink counts their spans apart.
JR_PROCS="jairouter jairouter_before jairouter_trace10 jairouter_trace100"
declare -A ADMIN=([jairouter]=9491 [jairouter_before]=9494 [jairouter_trace10]=9495 [jairouter_trace100]=9496)
declare -A OTEL_OF=(
  [jairouter_trace10]="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT/trace10 OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=${TRACE10_RATIO:-0.1} ${TRACE10_ENV:-}"
  [jairouter_trace100]="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT/trace100 OTEL_TRACES_SAMPLER=always_on")
# whatever OTEL_* the calling shell has, none of it reaches the proxies but what OTEL_OF sets
OTEL_UNSET="OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_TRACES_SAMPLER OTEL_TRACES_SAMPLER_ARG
  OTEL_SDK_DISABLED OTEL_TRACES_EXPORTER OTEL_SERVICE_NAME OTEL_RESOURCE_ATTRIBUTES OTEL_EXPORTER_OTLP_PROTOCOL
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL OTEL_EXPORTER_OTLP_COMPRESSION OTEL_EXPORTER_OTLP_TRACES_COMPRESSION
  OTEL_EXPORTER_OTLP_HEADERS OTEL_EXPORTER_OTLP_TRACES_HEADERS OTEL_BSP_SCHEDULE_DELAY OTEL_BSP_EXPORT_TIMEOUT
  OTEL_BSP_MAX_QUEUE_SIZE OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
BEFORE_REF=${BEFORE_REF:-c9859ba~1}
BEFORE_DIR=$B/run/before
COMPILE_CACHE=$B/run/compile-cache # NODE_COMPILE_CACHE of every jairouter process, filled before they start
BEFORE_WT=
# the model each target's requests name (post.lua MODEL). jairouter_anthropic and _bedrock are the
# same proxy process as jairouter, on routes whose backend speaks Anthropic Messages and Bedrock
# Converse (jairouter.yaml): the cost of translating, beside the pass-through path.
# jairouter_limits_local and _cluster: the same process, on routes to the mock held by rate-limit
# rules of scope Local and Cluster (counted in the redis-server on $REDIS_PORT: the proxy gets
# --redis-url whenever jairouter_limits_cluster is among the targets).
declare -A MODEL=([jairouter_anthropic]=claude-bench [jairouter_bedrock]=bedrock-bench
                  [jairouter_limits_local]=limits-local [jairouter_limits_cluster]=limits-cluster)
model_of() { echo "${MODEL[$1]:-gpt-4o-mini}"; }
proc_of() { # target -> the process that serves it
  case $1 in direct|direct_shared) echo mock ;; jairouter_before|jairouter_trace*) echo "$1" ;; jairouter_*) echo jairouter ;; *) echo "$1" ;; esac
}
is_jr_proc() { [[ " $JR_PROCS " == *" $1 "* ]]; }
JAIROUTER_ALIASES="jairouter_anthropic jairouter_bedrock jairouter_limits_local jairouter_limits_cluster"
wants_redis() { [[ " $TARGETS " == *" jairouter_limits_cluster "* ]]; }
# `bare`: the peer harness's minimal node:http + undici proxy (MODE=usage: parse, route by model,
# read usage), the yardstick of what any Node proxy costs on this machine. Run from a copy in
# bench/run/bare with this repo's node_modules, since ../shared has no node_modules of its own.
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
# LiteLLM's proxy, installed by `make bench-peers` (a Python venv outside the repo, like the Go-built binaries)
LITELLM_VENV=${LITELLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jairouter/litellm-venv}
declare -A SPID=() RSS0=() ANON0=()
CLK_TCK=$(getconf CLK_TCK)
LOG=$B/run/logs
mkdir -p "$OUT" "$LOG" run/nginx-tmp

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

ensure_tools() { # wrk and nginx from apt, Portkey from npm into bench/portkey (first use only)
  local missing=() t
  command -v wrk >/dev/null || missing+=(wrk)
  [[ " $TARGETS " == *" nginx "* ]] && ! command -v nginx >/dev/null && ! [[ -x /usr/sbin/nginx ]] && missing+=(nginx)
  wants_redis && ! command -v redis-server >/dev/null && ! [[ -x /usr/bin/redis-server ]] && missing+=(redis-server)
  if ((${#missing[@]})); then
    local sudo=; [[ $(id -u) != 0 ]] && sudo=sudo
    log "installing ${missing[*]} (apt-get)"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || { log "apt-get install ${missing[*]} failed"; exit 1; }
  fi
  export PATH="$PATH:/usr/sbin"
  if [[ " $TARGETS " == *" portkey "* && ! -f portkey/node_modules/@portkey-ai/gateway/build/start-server.js ]]; then
    log "installing @portkey-ai/gateway into bench/portkey (npm)"
    # its only install script is `patch-package` with no patches shipped: skipped
    npm install --prefix portkey --no-audit --no-fund --ignore-scripts >&2 || { log "npm install in bench/portkey failed"; exit 1; }
  fi
  if [[ " $TARGETS " == *" litellm "* && ! -x $LITELLM_VENV/bin/litellm ]]; then
    log "no LiteLLM in $LITELLM_VENV (make bench-peers installs it there; LITELLM_VENV names another): skipping target litellm"
    TARGETS=$(sed 's/\<litellm\>//' <<<"$TARGETS")
  fi
  if [[ " $TARGETS " == *" bare "* && ! -f $SHARED_BENCH/node-proxy.mjs ]]; then
    log "$SHARED_BENCH/node-proxy.mjs not found (set SHARED_BENCH): skipping target bare"
    TARGETS=$(sed 's/\<bare\>//' <<<"$TARGETS")
  fi
  if [[ " $TARGETS " == *" jairouter "* && ! -f $ROOT/proxy/src/main.ts ]]; then
    log "proxy/src/main.ts does not exist yet: skipping target jairouter"
    TARGETS=$(sed 's/\<jairouter[a-z0-9_]*\>//g' <<<"$TARGETS")
  fi
  if [[ " $TARGETS " == *" jairouter"* ]]; then # the image's compile cache (Dockerfile): no type stripping on start
    node "$ROOT/scripts/warm-compile-cache.mjs" "$COMPILE_CACHE" >/dev/null || { log "warm-compile-cache failed"; exit 1; }
  fi
  if [[ " $TARGETS " == *" jairouter_before "* ]]; then setup_before || exit 1; fi
}

setup_before() { # a git worktree of BEFORE_REF in bench/run/before, with the repo's node_modules
  local sha t0=$SECONDS e d
  sha=$(git -C "$ROOT" rev-parse --verify -q "$BEFORE_REF^{commit}") || { log "BEFORE_REF=$BEFORE_REF is not a commit of this repo"; return 1; }
  remove_before force
  git -C "$ROOT" worktree add --detach -q "$BEFORE_DIR" "$sha" || { log "git worktree add $BEFORE_DIR $sha failed"; return 1; }
  BEFORE_WT=$sha
  # node_modules: the repo's packages (a superset of the older commit's: the lock file only grew
  # since), except the workspace links @jairouter/*, which must point into the worktree
  mkdir "$BEFORE_DIR/node_modules" "$BEFORE_DIR/node_modules/@jairouter"
  for e in "$ROOT"/node_modules/* "$ROOT"/node_modules/.bin; do
    [[ $e == */@jairouter ]] || ln -s "$e" "$BEFORE_DIR/node_modules/"
  done
  for e in "$ROOT"/node_modules/@jairouter/*; do ln -s "$(readlink "$e")" "$BEFORE_DIR/node_modules/@jairouter/"; done
  for d in crds proxy operator e2e e2e/testkit; do
    [[ -d $ROOT/$d/node_modules && -d $BEFORE_DIR/$d ]] && ln -s "$ROOT/$d/node_modules" "$BEFORE_DIR/$d/node_modules"
  done
  [[ -f $BEFORE_DIR/proxy/bin/jairouter-proxy.js ]] || { log "$BEFORE_REF has no proxy/bin/jairouter-proxy.js"; return 1; }
  NODE_COMPILE_CACHE=$COMPILE_CACHE node "$BEFORE_DIR/proxy/bin/jairouter-proxy.js" --help >/dev/null 2>&1 # its modules into the cache too
  log "jairouter_before: worktree of $BEFORE_REF ($(git -C "$ROOT" log -1 --format='%h %s' "$sha" | cut -c1-100)) in bench/run/before, $((SECONDS - t0)) s"
}
remove_before() { # [force]: the worktree of jairouter_before, if run.sh made it (or any stale one)
  [[ -n $BEFORE_WT || ( ${1:-} == force && -e $BEFORE_DIR ) ]] || return 0
  git -C "$ROOT" worktree remove --force "$BEFORE_DIR" 2>/dev/null || rm -rf "$BEFORE_DIR"
  git -C "$ROOT" worktree prune
  BEFORE_WT=
}

stop_all() {
  local p
  for p in $(for q in "${SPID[@]}"; do tree_pids "$q"; done | sort -u); do kill "$p" 2>/dev/null; done
  for p in "${SPID[@]}"; do wait "$p" 2>/dev/null; done
  SPID=()
}
trap 'stop_all; remove_before' EXIT
trap 'exit 130' INT TERM

wait_port() { # port [tries of 0.1 s]
  local i
  for i in $(seq 1 "${2:-100}"); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done
  log "port $1 did not open"; return 1
}
port_busy() { (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; }

start_servers() {
  local t
  for t in "$@"; do
    [[ -n ${SPID[$t]:-} ]] && continue
    local is_mock=0; [[ $t == mock || $t == direct || $t == direct_shared ]] && is_mock=1
    if [[ $is_mock == 1 && -n ${SPID[mock]:-} ]]; then SPID[$t]=${SPID[mock]}; continue; fi
    if [[ $(proc_of "$t") == jairouter && $t != jairouter ]]; then # a route of the jairouter process
      start_servers jairouter || return 1; SPID[$t]=${SPID[jairouter]}; continue
    fi
    local port=${PORT[$t]:-$MOCK_PORT} redis_args=
    if is_jr_proc "$t" && wants_redis; then # every proxy process gets the same flags
      start_servers redis || return 1; redis_args="--redis-url redis://127.0.0.1:$REDIS_PORT"
    fi
    if [[ -n ${OTEL_OF[$t]:-} ]]; then start_servers otlp_sink || return 1; fi
    if port_busy "$port" || { [[ -n ${ADMIN[$t]:-} ]] && port_busy "${ADMIN[$t]}"; }; then
      log "port $port (for $t) is already in use by another process; stop it first"; return 1
    fi
    case $t in
      mock|direct|direct_shared)
        PORT=$MOCK_PORT taskset -c $LG_CPU node mock-upstream.mjs >"$LOG/mock.log" 2>&1 &
        SPID[mock]=$!; SPID[direct]=$!; SPID[direct_shared]=$!; wait_port $MOCK_PORT || return 1 ;;
      redis) # the Cluster limits' counters; no persistence; beside wrk and the mock on the load-generator core
        taskset -c $LG_CPU redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no >"$LOG/redis.log" 2>&1 &
        SPID[redis]=$! ;;
      otlp_sink) # the traced proxies' OTLP/HTTP receiver (answers 200, counts spans), beside wrk
        PORT=$OTLP_PORT taskset -c $LG_CPU node otlp-sink.mjs >"$LOG/otlp_sink.log" 2>&1 &
        SPID[otlp_sink]=$! ;;
      nginx)
        taskset -c $SUT_CPU nginx -p "$B/" -c conf/nginx.conf -g 'daemon off;' >"$LOG/nginx.log" 2>&1 &
        SPID[nginx]=$! ;;
      portkey) # --headless: no log UI; the production Node build shipped in the npm package
        (cd portkey && exec taskset -c $SUT_CPU node node_modules/@portkey-ai/gateway/build/start-server.js --port=${PORT[portkey]} --headless) >"$LOG/portkey.log" 2>&1 &
        SPID[portkey]=$! ;;
      jairouter|jairouter_before|jairouter_trace10|jairouter_trace100)
        # full path: API-key auth, routing, metrics; its JSON log lines go to a file.
        # jairouter_before runs the worktree's proxy, the traced ones get their OTEL_* (OTEL_OF)
        local dir=$ROOT e; [[ $t == jairouter_before ]] && dir=$BEFORE_DIR
        local -a envargs=(env); for e in $OTEL_UNSET; do envargs+=(-u "$e"); done
        envargs+=(NODE_COMPILE_CACHE="$COMPILE_CACHE")
        # shellcheck disable=SC2206
        envargs+=(${OTEL_OF[$t]:-})
        # shellcheck disable=SC2086
        (cd "$dir" && exec "${envargs[@]}" taskset -c $SUT_CPU node $JAIROUTER_NODE_ARGS proxy/bin/jairouter-proxy.js --config "$JAIROUTER_CONFIG" \
            --listen 127.0.0.1:${PORT[$t]} --admin-listen 127.0.0.1:${ADMIN[$t]} $redis_args $JAIROUTER_ARGS) >"$LOG/$t.log" 2>"$LOG/$t.err" &
        SPID[$t]=$! ;;
      bare)
        mkdir -p run/bare && cp "$SHARED_BENCH/node-proxy.mjs" run/bare/ && ln -sfn "$ROOT/node_modules" run/bare/node_modules
        (cd run/bare && MODE=usage PORT=${PORT[bare]} exec taskset -c $SUT_CPU node node-proxy.mjs) >"$LOG/bare.log" 2>&1 &
        SPID[bare]=$! ;;
      litellm) # one uvicorn worker (one core), no database, the cost map from the package, no telemetry
        (cd "$B" && exec taskset -c $SUT_CPU env LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR LITELLM_MODE=PRODUCTION LITELLM_TELEMETRY=False \
            "$LITELLM_VENV/bin/litellm" --config conf/litellm.yaml --host 127.0.0.1 --port ${PORT[litellm]} --num_workers 1) >"$LOG/litellm.log" 2>&1 &
        SPID[litellm]=$! ;;
      custom) # any other gateway: CUSTOM_CMD serving on $CUSTOM_PORT, run from CUSTOM_DIR
        (cd "${CUSTOM_DIR:-$B}" && exec taskset -c $SUT_CPU bash -c "exec env $CUSTOM_CMD") >"$LOG/custom.log" 2>&1 &
        SPID[custom]=$! ;;
      *) log "unknown target $t"; return 1 ;;
    esac
    if [[ $is_mock == 0 ]]; then wait_port "${PORT[$t]}" "$([[ $t == litellm ]] && echo 900 || echo 300)" || { tail -n 5 "$LOG/$t".* >&2; return 1; }; fi
  done
  sleep 1.5 # let portkey finish its 1 s start-up spinner, etc.
  for t in "$@"; do
    if [[ -z ${RSS0[$t]:-} ]]; then
      local pids; pids=$(tree_pids "${SPID[$t]}")
      # shellcheck disable=SC2086
      RSS0[$t]=$(rss_kb $pids); ANON0[$t]=$(anon_kb $pids)
    fi
    [[ $t == mock || $t == direct* || $t == redis || $t == otlp_sink ]] || smoke "$t" || return 1
    if [[ $t == jairouter_limits_cluster ]] && ! (( $(redis_dbsize) > 0 )); then
      log "smoke test of $t: its requests left no counter in Redis (is the proxy connected to it? see $LOG/jairouter.log)"; return 1
    fi
  done
}

smoke() { # target: one JSON and one SSE request must come back from the mock through it
  local t=$1 s r; local -a hargs; header_args "$t"
  for s in false true; do
    r=$(curl -s -m 5 -w '\n%{http_code}' "${hargs[@]}" -H 'content-type: application/json' \
      -d '{"model":"'"$(model_of "$t")"'","messages":[{"role":"user","content":"hi"}],"stream":'$s'}' \
      "http://127.0.0.1:${PORT[$t]}/v1/chat/completions")
    # the mock's text (every API it speaks carries the same), OpenAI-shaped, to the end
    if [[ ${r##*$'\n'} != 200 || ( $s == false && $r != *'"content":"This is a fixed mock completion'* ) ||
          ( $s == true && ( $r != *'"delta":{"content":"tok19 "}'* || $r != *'[DONE]'* ) ) ]]; then
      log "smoke test of $t (stream=$s) failed: $(head -c 400 <<<"$r")"; tail -n 5 "$LOG/$(proc_of "$t")".* >&2; return 1
    fi
  done
}

redis_dbsize() { # keys in the bench's redis-server (0 when it does not answer)
  local r=
  { exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT && printf 'DBSIZE\r\n' >&3 && read -r -t 2 r <&3; exec 3<&-; } 2>/dev/null
  r=${r#:}; r=${r%$'\r'}; [[ $r =~ ^[0-9]+$ ]] && echo "$r" || echo 0
}

tree_pids() { # pid -> pid and all descendants
  local p=$1 c
  echo "$p"
  for c in $(pgrep -P "$p"); do tree_pids "$c"; done
}
cpu_ticks() { # utime+stime of the given pids (all threads)
  local t=0 p s
  for p in "$@"; do
    s=$(cat /proc/$p/stat 2>/dev/null) || continue
    s=${s##*) }; set -- $s
    t=$((t + ${12} + ${13}))
  done
  echo $t
}
cpu_busy() { # "cpuN busy total steal" for cpu0 and cpu1 from /proc/stat
  awk '/^cpu[01] /{idle=$5+$6; tot=0; for(i=2;i<=NF;i++) tot+=$i; printf "%s %d %d %d\n",$1,tot-idle,tot,$9}' /proc/stat
}
status_kb() { # FIELD PID... -> the field of /proc/PID/status summed over the pids (kB)
  local f=$1 t=0 p k v r; shift
  for p in "$@"; do while read -r k v r; do [[ $k == "$f:" ]] && { t=$((t+v)); break; }; done </proc/$p/status 2>/dev/null; done; echo $t
}
rss_kb() { status_kb VmRSS "$@"; }
# The private part of RSS (RssAnon): the rest is mapped files, mostly the runtime's own binary,
# whose pages every process running that file shares.
anon_kb() { status_kb RssAnon "$@"; }

headers_for() { # target -> wrk -H args (one per line)
  case $1 in
    jairouter*) echo "Authorization: Bearer ${KEY_OF[$1]:-$BENCH_KEY}" ;;
    custom) echo "Authorization: Bearer ${CUSTOM_AUTH:-sk-bench-custom}" ;;
    portkey) echo "Authorization: Bearer sk-bench-portkey"
      echo "x-portkey-provider: openai"
      echo "x-portkey-custom-host: http://127.0.0.1:$MOCK_PORT/v1" ;;
    *) echo "Authorization: Bearer sk-bench-$1" ;;
  esac
}

header_args() { # target -> the caller's array hargs: -H HEADER for each line of headers_for
  local h; hargs=()
  while IFS= read -r h; do hargs+=(-H "$h"); done < <(headers_for "$1")
}

ensure_alive() { # target...: restart what died (something else on the box may kill it), say how it ended
  local t p rc
  for t in "$@"; do
    t=$(proc_of "$t")
    p=${SPID[$t]:-}; [[ -n $p ]] && kill -0 "$p" 2>/dev/null && continue
    wait "$p" 2>/dev/null; rc=$?
    log "$t (pid $p) died (exit status $rc$( ((rc > 128)) && echo ", signal $((rc - 128))")); restarting it"
    echo "$(date -Is) $t pid $p died, exit status $rc, restarted" >>"$OUT/restarts.txt"
    unset "SPID[$t]"; [[ $t == mock ]] && unset 'SPID[direct]' 'SPID[direct_shared]'
    [[ $t == jairouter ]] && for a in $JAIROUTER_ALIASES; do unset "SPID[$a]"; done
    start_servers "$t" || exit 1
    for a in direct direct_shared $JAIROUTER_ALIASES; do # the aliases follow it
      [[ $(proc_of $a) == "$t" ]] && SPID[$a]=${SPID[$t]}
    done
  done
}

# measure TARGET MODE LOAD REP [record=1]
measure() {
  local target=$1 mode=$2 load=$3 rep=$4 record=${5:-1}
  ensure_alive mock "$target"; [[ $target == jairouter_limits_cluster ]] && ensure_alive redis
  [[ -n ${OTEL_OF[$target]:-} ]] && ensure_alive otlp_sink
  local url="http://127.0.0.1:${PORT[$target]}/v1/chat/completions"
  local stream=0; [[ $mode == sse ]] && stream=1
  local conns=$CONNS dur=$DURATION delay=0
  case $load in
    sat) ;;
    r200) conns=20; delay=100; dur=$RATE_DURATION ;;
    r1000) conns=50; delay=50; dur=$RATE_DURATION ;;
    *) log "unknown load $load"; return 1 ;;
  esac
  [[ $record == 0 ]] && dur=$WARMUP
  local mock=${SPID[mock]}
  # the mock gets its own core only when it is the system under test (direct_shared: it stays
  # on the load-generator core, exactly where it sits while a proxy is measured)
  if [[ $target == direct ]]; then taskset -a -p -c $SUT_CPU $mock >/dev/null; else taskset -a -p -c $LG_CPU $mock >/dev/null; fi
  local -a sut; mapfile -t sut < <(tree_pids ${SPID[$target]})
  local -a hargs; header_args "$target"
  curl -s -XPOST 127.0.0.1:$MOCK_PORT/stats/reset >/dev/null
  local rss_idle; rss_idle=$(rss_kb "${sut[@]}")
  local flag=$OUT/.sampling; : >"$flag"
  ( max=0; while [[ -e $flag ]]; do r=$(rss_kb "${sut[@]}"); ((r>max)) && max=$r; echo $max >"$flag.max"; sleep 0.5; done ) &
  local sampler=$!
  local logf; logf=$LOG/$(proc_of "$target").log
  local logb0; logb0=$(stat -c %s "$logf" 2>/dev/null || echo 0)
  local redis=${SPID[redis]:-} r0=0 r1=0   # Redis's CPU is reported beside the proxy's, not in it
  # what the OTLP sink received from a traced proxy during the run (its batches trail by up to
  # OTEL_BSP_SCHEDULE_DELAY, 5 s: an approximation per run; the totals are in otlp-sink.json)
  local prefix=${target#jairouter_} o0= o1=; [[ -n ${OTEL_OF[$target]:-} ]] || prefix=
  [[ -n $prefix ]] && o0=$(otlp_count "$prefix")
  local c0 m0 b0; c0=$(cpu_ticks "${sut[@]}"); m0=$(cpu_ticks $mock); b0=$(cpu_busy); [[ -n $redis ]] && r0=$(cpu_ticks $redis)
  local wout
  wout=$(STREAM=$stream MODEL=$(model_of "$target") WRK_DELAY_MS=$delay taskset -c $LG_CPU wrk -t1 -c$conns -d${dur}s --timeout 10s -s post.lua "${hargs[@]}" "$url" 2>&1)
  local c1 m1 b1; c1=$(cpu_ticks "${sut[@]}"); m1=$(cpu_ticks $mock); b1=$(cpu_busy); [[ -n $redis ]] && r1=$(cpu_ticks $redis)
  [[ -n $prefix ]] && o1=$(otlp_count "$prefix")
  rm -f "$flag"; wait $sampler 2>/dev/null
  local rss_max; rss_max=$(cat "$flag.max" 2>/dev/null || echo 0); rm -f "$flag.max"
  local logb1; logb1=$(stat -c %s "$logf" 2>/dev/null || echo 0)
  [[ $record == 0 ]] && return 0
  local stats; stats=$(curl -s 127.0.0.1:$MOCK_PORT/stats)
  local mock_total; mock_total=$(sed -n 's/^ "total": \([0-9]*\),/\1/p' <<<"$stats")
  local wj; wj=$(grep -o 'WRKJSON .*' <<<"$wout" | cut -d' ' -f2-)
  if [[ -z $wj ]]; then log "wrk failed for $target $mode $load: $wout"; wj='{}'; fi
  local busy; busy=$(paste <(echo "$b0") <(echo "$b1") | awk '{t=(($7-$3)>0?($7-$3):1); printf "\"%s_busy_pct\":%.1f,\"%s_steal_pct\":%.1f,", $1, ($6-$2)*100/t, $1, ($8-$4)*100/t}')
  local otlp=; [[ -n $o0 && -n $o1 ]] && otlp=$(paste -d' ' <(echo "$o0") <(echo "$o1") | awk '{printf "\"otlp_posts\":%d,\"otlp_bytes\":%d,\"otlp_spans\":%d,\"otlp_roots\":%d,", $5-$1, $6-$2, $7-$3, $8-$4}')
  local line
  line=$(printf '{"ts":"%s","rep":%d,"load":"%s","mode":"%s","target":"%s","conns":%d,"duration_s":%d,"delay_ms":%d,"sut_pids":%d,"sut_cpu_s":%s,"mock_cpu_s":%s,"redis_cpu_s":%s,%s%s"rss_start_kb":%d,"rss_start_anon_kb":%d,"rss_idle_kb":%d,"rss_max_kb":%d,"log_bytes":%d,"mock_requests":%s,"wrk":%s}' \
    "$(date -Is)" "$rep" "$load" "$mode" "$target" "$conns" "$dur" "$delay" "${#sut[@]}" \
    "$(awk -v a=$c0 -v b=$c1 -v t=$CLK_TCK 'BEGIN{printf "%.2f",(b-a)/t}')" \
    "$(awk -v a=$m0 -v b=$m1 -v t=$CLK_TCK 'BEGIN{printf "%.2f",(b-a)/t}')" \
    "$(awk -v a=$r0 -v b=$r1 -v t=$CLK_TCK 'BEGIN{printf "%.2f",(b-a)/t}')" \
    "$busy" "$otlp" "${RSS0[$target]:-0}" "${ANON0[$target]:-0}" "$rss_idle" "$rss_max" $((logb1 - logb0)) "${mock_total:-0}" "$wj")
  echo "$line" >>"$OUT/results.jsonl"
  echo "$stats" >"$OUT/mockstats-$target-$mode-$load-$rep.json"
  echo "$line"
}

skip() { [[ " $SKIP " == *" $2:$1 "* ]]; } # target load -> 0 if this combination is not run

otlp_count() { # prefix -> "posts bytes spans roots" the sink received under it so far
  local r; r=$(curl -s -m 2 "127.0.0.1:$OTLP_PORT/count/$1"); [[ $r =~ ^[0-9]+\ [0-9]+\ [0-9]+\ [0-9]+$ ]] && echo "$r" || echo "0 0 0 0"
}
otlp_report() { # [check]: one log line per traced target present; with check, none may have 0 spans
  local t c ok=0
  for t in $TARGETS; do
    [[ -n ${OTEL_OF[$t]:-} ]] || continue
    read -r -a c <<<"$(otlp_count "${t#jairouter_}")"
    log "otlp sink: $t exported ${c[2]} spans (${c[3]} root spans, i.e. sampled requests) in ${c[0]} POSTs, ${c[1]} bytes"
    [[ ${1:-} == check && ${c[2]} == 0 && ! ($t == jairouter_trace10 && ${TRACE10_RATIO:-0.1} == 0) ]] && { log "$t exported no span: is tracing on? see $LOG/$t.err"; ok=1; }
  done
  return $ok
}

suite() {
  start_servers mock $TARGETS || exit 1
  {
    echo "date: $(date -Is)"; echo "repo: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) $(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
    echo "host: $(nproc) cores, $(uname -r), load avg $(cut -d' ' -f1-3 /proc/loadavg), $(node -v), $(nginx -v 2>&1), $(wrk -v 2>&1 | head -1)"
    local dirty; dirty=$(git -C "$ROOT" status --porcelain -- proxy crds package.json package-lock.json 2>/dev/null | tr '\n' ' ')
    [[ -n $dirty ]] && echo "proxy sources not committed (measured as on disk at start-up): $dirty"
    [[ -n $BEFORE_WT ]] && echo "jairouter_before: $BEFORE_REF = $(git -C "$ROOT" log -1 --format='%h %s' "$BEFORE_WT" | cut -c1-100)"
    echo "params: DURATION=$DURATION CONNS=$CONNS RATE_DURATION=$RATE_DURATION REPS=$REPS WARMUP=$WARMUP LG_CPU=$LG_CPU SUT_CPU=$SUT_CPU"
    echo "modes: $MODES; loads: $LOADS; targets: $TARGETS; skip: $SKIP"
    [[ " $TARGETS " == *" litellm "* ]] && echo "litellm: $("$LITELLM_VENV/bin/pip" show litellm 2>/dev/null | sed -n 's/^Version: //p')"
    for t in "${!SPID[@]}"; do echo "pid $t=${SPID[$t]}"; done
  } | tee "$OUT/meta.txt" >&2
  local rep l m t
  log "warm-up ${WARMUP}s per target and mode"
  for m in $MODES; do for t in $TARGETS; do measure $t $m sat 0 0; done; done
  if [[ -n ${SPID[otlp_sink]:-} ]]; then sleep 6; otlp_report check || exit 1; fi # > OTEL_BSP_SCHEDULE_DELAY
  for rep in $(seq 1 $REPS); do
    for l in $LOADS; do for m in $MODES; do for t in $TARGETS; do
      skip $t $l && continue
      log "rep $rep $l $m $t"
      measure $t $m $l $rep >/dev/null
    done; done; done
  done
  for t in $JR_PROCS; do [[ -n ${SPID[$t]:-} ]] && curl -s "127.0.0.1:${ADMIN[$t]}/metrics" >"$OUT/$t-metrics.txt"; done
  if [[ -n ${SPID[otlp_sink]:-} ]]; then # the last batches first (OTEL_BSP_SCHEDULE_DELAY, 5 s)
    sleep 6; otlp_report; curl -s "127.0.0.1:$OTLP_PORT/stats" >"$OUT/otlp-sink.json"
  fi
  node summarize.mjs "$OUT/results.jsonl" | tee "$OUT/summary.md"
  log "results in $OUT"
}

ensure_tools
case ${1:-suite} in
  suite) suite ;;
  one)   [[ $# -ge 4 ]] || { echo "usage: $0 one TARGET json|sse sat|r200|r1000" >&2; exit 2; }
         start_servers mock "$2" || exit 1; measure "$2" "$3" "$4" 0 0; measure "$2" "$3" "$4" 1 ;;
  serve) start_servers mock $TARGETS || exit 1
         for t in "${!SPID[@]}"; do echo "$t pid=${SPID[$t]} port=${PORT[$t]:-$MOCK_PORT}"; done
         echo "Ctrl-C to stop"; wait ;;
  *) echo "usage: $0 [suite|one TARGET MODE LOAD|serve]" >&2; exit 2 ;;
esac
