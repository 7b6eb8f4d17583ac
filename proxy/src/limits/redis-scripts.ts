// The Lua that Cluster-scope limits and budgets run inside Redis (redis.ts loads it with
// defineCommand). LIMITS_LUA mirrors algorithms.ts and warm-up.ts operation by operation;
// redis.test.ts replays random sequences through both and compares every decision.

/** Per item: algorithm, L, P, B, W, coldFactor, latencyTarget, min, max, start, x, y. */
export const FIELDS_PER_ITEM = 12;
/**
 * -Infinity and Infinity of the TypeScript side, for Lua (whose tonumber cannot read 'inf').
 * now - NEVER stays above every interval derived from HUGE (at most 2 x HUGE).
 */
export const NEVER = -1e308;
export const HUGE = 1e300;
/** PEXPIRE refuses absurd values; a state that may live longer than this (an Adaptive rule without latency target) never changes anyway. */
export const MAX_TTL_MS = 1e12;

export const LIMITS_LUA = `
local EPS = 1e-6
local NEVER = ${NEVER}
local mode = ARGV[1]
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local N = ${FIELDS_PER_ITEM}
local min, max, floor, ceil = math.min, math.max, math.floor, math.ceil

local function waitMs(x, admits)
  local w = max(1, ceil(x))
  if w > 1 and admits(w - 1) then return w - 1 end
  local i = 0
  while i < 3 and not admits(w) do w = w + 1; i = i + 1 end
  return w
end
local function allow(limit, remaining, reset, delay)
  return {1, delay or 0, 0, limit, max(0, floor(remaining + EPS)), max(0, ceil(reset - EPS)), 0}
end
local function refuse(limit, remaining, reset, retry, oversize)
  local r = retry
  if oversize then r = retry - EPS end
  return {0, 0, max(1, ceil(r)), limit, max(0, floor(remaining + EPS)), max(0, ceil(reset - EPS)), oversize and 1 or 0}
end
local function positive(x) if x > 0 then return x end return 0 end

-- TokenBucket; also Adaptive's bucket. st: tokens, t, limit, cap, rate
local function tbRefill(st, now)
  if now > st.t then
    st.tokens = min(st.cap, st.tokens + (now - st.t) * st.rate)
    st.t = now
  end
end
local function tbResize(st, now, limit, P, B)
  tbRefill(st, now)
  st.limit = limit
  st.cap = limit + B
  st.rate = limit / P
  st.tokens = min(st.tokens, st.cap)
end
local function tbTake(st, now, amount)
  tbRefill(st, now)
  local n = positive(amount)
  local toFull = (st.cap - st.tokens) / st.rate
  if n > st.cap then return refuse(st.limit, st.tokens, toFull, toFull, true) end
  if st.tokens + EPS >= n then
    st.tokens = st.tokens - n
    return allow(st.limit, st.tokens, (st.cap - st.tokens) / st.rate)
  end
  local tokens = st.tokens
  local retry = waitMs((n - tokens) / st.rate, function(w) return min(st.cap, tokens + w * st.rate) + EPS >= n end)
  return refuse(st.limit, tokens, toFull, retry)
end
local function tbAdjust(st, now, delta)
  tbRefill(st, now)
  if delta > 0 then st.tokens = st.tokens - delta else st.tokens = min(st.cap, st.tokens - delta) end
end
local function tbToFull(st, now)
  return (st.cap - (st.tokens + max(0, now - st.t) * st.rate)) / st.rate
end

-- WarmUp (Guava SmoothWarmingUp). st: s, tat
local function wuShape(L, P, W, CF)
  local stable = P / L
  local cold = stable * CF
  local threshold = (0.5 * W) / stable
  local maxPermits = threshold + (2 * W) / (stable + cold)
  return {stable = stable, threshold = threshold, maxPermits = maxPermits, slope = (cold - stable) / (maxPermits - threshold), coolDown = W / maxPermits}
end
local function wuIntegral(sh, x)
  local above = x - sh.threshold
  local extra = 0
  if above > 0 then extra = (sh.slope * above * above) / 2 end
  return sh.stable * x + extra
end
local function wuCost(sh, stored, n)
  local fromStored = min(n, stored)
  return wuIntegral(sh, stored) - wuIntegral(sh, stored - fromStored) + (n - fromStored) * sh.stable
end
local function wuSync(st, sh, now)
  if now > st.tat then
    st.s = min(sh.maxPermits, st.s + (now - st.tat) / sh.coolDown)
    st.tat = now
  end
end
local function wuRemaining(st, sh, cap, now)
  local room = cap * sh.stable - (st.tat - now)
  local lo, hi = 0, floor(cap + EPS)
  while lo < hi do
    local k = ceil((lo + hi) / 2)
    if wuCost(sh, st.s, k - 1) + sh.stable <= room + EPS then lo = k else hi = k - 1 end
  end
  return lo
end
local function wuCharge(st, sh, n)
  local fromStored = min(n, st.s)
  st.tat = st.tat + wuCost(sh, st.s, n)
  st.s = st.s - fromStored
end

-- One item: its spec and its state, loaded once per key and call.
local states = {}
local function load(i)
  local key = KEYS[i]
  local b = 2 + (i - 1) * N
  local it = {
    key = key, alg = ARGV[b + 1], L = tonumber(ARGV[b + 2]), P = tonumber(ARGV[b + 3]), B = tonumber(ARGV[b + 4]),
    W = tonumber(ARGV[b + 5]), CF = tonumber(ARGV[b + 6]), LT = tonumber(ARGV[b + 7]),
    MIN = tonumber(ARGV[b + 8]), MAX = tonumber(ARGV[b + 9]), START = tonumber(ARGV[b + 10]),
    x = tonumber(ARGV[b + 11]), y = ARGV[b + 12],
  }
  local st = states[key]
  if st == nil then
    local h = redis.call('HMGET', key, 'a', 'b', 'c', 'd', 'e')
    local a, bb, c, d, e = tonumber(h[1]), tonumber(h[2]), tonumber(h[3]), tonumber(h[4]), tonumber(h[5])
    local fresh = a == nil
    if it.alg == 'TokenBucket' then
      local cap = it.L + it.B
      if fresh then a, bb = cap, now end
      st = {tokens = a, t = bb, limit = it.L, cap = cap, rate = it.L / it.P}
    elseif it.alg == 'LeakyBucket' then
      st = {tat = fresh and now or a}
    elseif it.alg == 'FixedWindow' then
      if fresh then a, bb = NEVER, 0 end
      st = {w = a, c = bb}
    elseif it.alg == 'SlidingWindow' then
      if fresh then a, bb, c = NEVER, 0, 0 end
      st = {w = a, prev = bb, cur = c}
    elseif it.alg == 'WarmUp' then
      local sh = wuShape(it.L, it.P, it.W, it.CF)
      if fresh then a, bb = sh.maxPermits, now end
      st = {s = a, tat = bb}
    else -- Adaptive
      if fresh then a, bb, c, d, e = it.START + it.B, now, it.START, NEVER, NEVER end
      st = {tokens = a, t = bb, limit = c, cap = c + it.B, rate = c / it.P, ld = d, lo = e}
    end
    states[key] = st
  end
  it.st = st
  if it.alg == 'WarmUp' then it.sh = wuShape(it.L, it.P, it.W, it.CF) end
  if it.alg == 'Adaptive' then
    it.interval = max(1000, 2 * it.LT)
    it.memory = max(60000, 10 * it.P, it.interval)
  end
  return it
end

local function setLimit(it, now, l)
  if l ~= it.st.limit then tbResize(it.st, now, l, it.P, it.B) end
end
local function forgetIfStale(it, now)
  if now - it.st.lo >= it.memory then setLimit(it, now, it.START) end
end

-- Sliding window helpers. st: w, prev, cur
local function swRoll(st, P, now)
  local w = floor(now / P)
  if w == st.w + 1 then
    st.prev = st.cur; st.cur = 0; st.w = w
  elseif w > st.w then
    st.prev = 0; st.cur = 0; st.w = w
  end
end
local function swEstimate(st, P, t)
  local w = floor(t / P)
  local elapsed = t - w * P
  if w == st.w then return (st.prev * (P - elapsed)) / P + st.cur end
  if w == st.w + 1 then return (st.cur * (P - elapsed)) / P end
  return 0
end
local function swReset(st, P, now)
  local e = (st.w + 1) * P
  if st.cur > 0 then return e + P - now end
  if st.prev > 0 then return e - now end
  return 0
end
local function swRetryAfter(st, L, P, now, n)
  local start = st.w * P
  local room = L - n - st.cur
  if room >= 0 and st.prev > 0 then return start + P * (1 - room / st.prev) - now end
  local nxt = start + P
  local roomNext = L - n
  if st.cur <= roomNext then return nxt - now end
  return nxt + P * (1 - roomNext / st.cur) - now
end

local function take(it, now)
  local st, n = it.st, positive(it.x)
  local alg = it.alg
  if alg == 'TokenBucket' then return tbTake(st, now, it.x) end
  if alg == 'Adaptive' then
    forgetIfStale(it, now)
    return tbTake(st, now, it.x)
  end
  if alg == 'LeakyBucket' then
    local T = it.P / it.L
    local start = max(st.tat, now)
    local wait = start - now
    local tol = it.B * T
    if wait > tol + EPS then
      return refuse(it.L, 0, wait, waitMs(wait - tol, function(w) return wait - w <= tol + EPS end))
    end
    st.tat = start + n * T
    local ahead = max(0, st.tat - now) / T
    local rem = 0
    if not (ahead > it.B + EPS) then rem = floor(it.B - ahead + EPS) + 1 end
    return allow(it.L, rem, st.tat - now, max(0, ceil(wait - EPS)))
  end
  if alg == 'FixedWindow' then
    local w = floor(now / it.P)
    if w > st.w then st.w = w; st.c = 0 end
    local toNext = (st.w + 1) * it.P - now
    local left = it.L - st.c
    local resetNow = 0
    if st.c > 0 then resetNow = toNext end
    if n > it.L then return refuse(it.L, left, resetNow, toNext, true) end
    if st.c + n <= it.L + EPS then
      st.c = st.c + n
      local reset = 0
      if st.c > 0 then reset = toNext end
      return allow(it.L, it.L - st.c, reset)
    end
    local window = st.w
    return refuse(it.L, left, toNext, waitMs(toNext, function(w) return floor((now + w) / it.P) > window end))
  end
  if alg == 'SlidingWindow' then
    swRoll(st, it.P, now)
    local est = swEstimate(st, it.P, now)
    if n > it.L then
      local r = swReset(st, it.P, now)
      return refuse(it.L, it.L - est, r, r, true)
    end
    if est + n <= it.L + EPS then
      st.cur = st.cur + n
      return allow(it.L, it.L - est - n, swReset(st, it.P, now))
    end
    local retry = waitMs(swRetryAfter(st, it.L, it.P, now, n), function(w) return swEstimate(st, it.P, now + w) + n <= it.L + EPS end)
    return refuse(it.L, it.L - est, swReset(st, it.P, now), retry)
  end
  -- WarmUp
  local sh = it.sh
  local cap = it.L + it.B
  wuSync(st, sh, now)
  local ahead = st.tat - now
  if n > cap then return refuse(it.L, wuRemaining(st, sh, cap, now), ahead, ahead, true) end
  local over = ahead + n * sh.stable - cap * sh.stable
  if over > EPS then
    local excess = (n - cap) * sh.stable
    return refuse(it.L, wuRemaining(st, sh, cap, now), ahead, waitMs(over, function(w) return max(0, ahead - w) + excess <= EPS end))
  end
  wuCharge(st, sh, n)
  return allow(it.L, wuRemaining(st, sh, cap, now), st.tat - now)
end

local function adjust(it, now)
  local st, delta, at = it.st, it.x, tonumber(it.y)
  local alg = it.alg
  if alg == 'TokenBucket' then tbAdjust(st, now, delta)
  elseif alg == 'Adaptive' then
    forgetIfStale(it, now)
    tbAdjust(st, now, delta)
  elseif alg == 'LeakyBucket' then
    local T = it.P / it.L
    if delta > 0 then st.tat = max(st.tat, now) + delta * T else st.tat = max(now, st.tat + delta * T) end
  elseif alg == 'FixedWindow' then
    local w = floor(now / it.P)
    if w > st.w then st.w = w; st.c = 0 end
    if delta > 0 then st.c = st.c + delta
    elseif floor(at / it.P) == st.w then st.c = max(0, st.c + delta) end
  elseif alg == 'SlidingWindow' then
    swRoll(st, it.P, now)
    local w = floor(at / it.P)
    if w == st.w then st.cur = max(0, st.cur + delta)
    elseif w == st.w - 1 then st.prev = max(0, st.prev + delta)
    elseif delta > 0 then st.cur = st.cur + delta end
  else -- WarmUp
    local sh = it.sh
    wuSync(st, sh, now)
    if delta > 0 then wuCharge(st, sh, delta)
    else
      local n = -delta
      local back = min(n, sh.maxPermits - st.s)
      local time = wuIntegral(sh, st.s + back) - wuIntegral(sh, st.s) + (n - back) * sh.stable
      st.s = st.s + back
      st.tat = max(now, st.tat - time)
    end
  end
end

local function observe(it, now)
  if it.alg ~= 'Adaptive' then return end
  local st = it.st
  forgetIfStale(it, now)
  st.lo = now
  if it.y == '1' or it.x > it.LT then
    if now - st.ld < it.interval then return end
    st.ld = now
    setLimit(it, now, max(it.MIN, floor(st.limit * 0.5)))
  else
    setLimit(it, now, min(it.MAX, st.limit + 1))
  end
end

local function f(x) return string.format('%.17g', x) end
local function save(it, now)
  local st = it.st
  local alg = it.alg
  local ttl
  if alg == 'TokenBucket' then
    redis.call('HSET', it.key, 'a', f(st.tokens), 'b', f(st.t))
    ttl = tbToFull(st, now)
  elseif alg == 'Adaptive' then
    redis.call('HSET', it.key, 'a', f(st.tokens), 'b', f(st.t), 'c', f(st.limit), 'd', f(st.ld), 'e', f(st.lo))
    ttl = max(tbToFull(st, now), it.memory)
  elseif alg == 'LeakyBucket' then
    redis.call('HSET', it.key, 'a', f(st.tat))
    ttl = st.tat - now
  elseif alg == 'FixedWindow' then
    redis.call('HSET', it.key, 'a', f(st.w), 'b', f(st.c))
    ttl = (st.w + 1) * it.P - now
  elseif alg == 'SlidingWindow' then
    redis.call('HSET', it.key, 'a', f(st.w), 'b', f(st.prev), 'c', f(st.cur))
    ttl = (st.w + 2) * it.P - now
  else
    redis.call('HSET', it.key, 'a', f(st.s), 'b', f(st.tat))
    ttl = max(0, st.tat - now) + (it.sh.maxPermits - st.s) * it.sh.coolDown
  end
  -- Expiring once idle: an expired key reads as a fresh state, which it then equals.
  redis.call('PEXPIRE', it.key, ceil(min(${MAX_TTL_MS}, max(0, ttl))) + 1000)
end

local items = {}
for i = 1, #KEYS do items[i] = load(i) end
if mode == 'take' then
  local out, all = {}, true
  for i = 1, #items do
    out[i] = take(items[i], now)
    if out[i][1] == 0 then all = false end
  end
  if all then for i = 1, #items do save(items[i], now) end end
  return {now, out}
end
for i = 1, #items do
  if mode == 'adjust' then adjust(items[i], now) else observe(items[i], now) end
  save(items[i], now)
end
return {now}
`;

/** KEYS[1] the spend; ARGV: reserve|add, amount (millionths), limit, ttl ms. Answers {admitted, spend}. */
export const BUDGET_LUA = `
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[2])
if ARGV[1] == 'reserve' then
  if spent + amount > tonumber(ARGV[3]) then return {0, tostring(spent)} end
  spent = spent + amount
else
  spent = math.max(0, spent + amount)
end
redis.call('SET', KEYS[1], string.format('%d', spent), 'PX', ARGV[4])
return {1, string.format('%d', spent)}
`;

