// Preload (`--import`) for the proxy: the first SIGUSR2 starts V8's sampling heap profiler with
// the objects already collected included (so it shows what the young generation churns, not
// only what survives), the next one writes $ALLOC_PROFILE (default /tmp/alloc.heapprofile).
// Summarize with alloc-summary.mjs; open in Chrome DevTools (Memory) for the tree.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();
let sampling = false;
process.on('SIGUSR2', async () => {
  if (!sampling) {
    sampling = true;
    await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return;
  }
  sampling = false;
  const { profile } = await session.post('HeapProfiler.stopSampling');
  writeFileSync(process.env.ALLOC_PROFILE ?? '/tmp/alloc.heapprofile', JSON.stringify(profile));
});
