import { statSync, watch, type FSWatcher } from 'node:fs';
import { listConfigFiles } from '@jairouter/crds/config-files';


/**
 * Watches the config files and directories; calls `onChange` once per burst of events
 * (editors write files in several steps).
 */
export function watchPaths(paths: readonly string[], debounceMs: number, onChange: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  // What the files looked like at the last onChange: the periodic check below fires only for a
  // change the watchers missed, not a second time for one they reported.
  let last = fingerprint(paths);
  const fire = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      last = fingerprint(paths);
      onChange();
    }, debounceMs);
  };
  const arm = (): void => {
    for (const w of watchers.splice(0)) w.close();
    const targets = new Set<string>(paths);
    try {
      for (const f of listConfigFiles(paths)) targets.add(f);
    } catch {
      // A path that vanished is reported by the reload itself.
    }
    for (const t of targets) {
      try {
        watchers.push(watch(t, { persistent: false }, () => {
          fire();
          // Editors that replace the file (rename over it) end the old watch: watch anew.
          setTimeout(arm, debounceMs);
        }));
      } catch {
        // Missing now; the periodic rescan picks it up when it appears.
      }
    }
  };
  arm();
  // fs.watch misses events on some filesystems: a cheap periodic check of mtimes covers that.
  const poll = setInterval(() => {
    const f = fingerprint(paths);
    if (f !== last) {
      last = f;
      arm();
      fire();
    }
  }, 1000);
  poll.unref();
  return () => {
    clearInterval(poll);
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}

function fingerprint(paths: readonly string[]): string {
  try {
    return listConfigFiles(paths)
      .map((f) => {
        const s = statSync(f);
        return `${f}:${s.mtimeMs}:${s.size}`;
      })
      .join('|');
  } catch (e) {
    return `error:${(e as Error).message}`;
  }
}
