import type { ProxyConfig } from '@jairouter/crds';
import type { Logger } from '../telemetry/logger.ts';
import type { ProxyMetrics } from '../telemetry/metrics.ts';
import { Compiler, compileInWorker, type CompileOutcome } from './compile-client.ts';
import { withoutConsequence } from './consequence.ts';
import type { ApplyConfig, ConfigSource } from './types.ts';
import { watchPaths } from './watch.ts';

/**
 * Standalone mode: YAML files compiled with the operator's own compile(), watched for changes.
 * At start, an unreadable or unparsable file is an error; objects that do not compile are
 * logged and left out. On a change, an edit that would drop or degrade something served now
 * is not applied (ADR 2).
 */
export class FileSource implements ConfigSource {
  private readonly paths: string[];
  private readonly log: Logger;
  private readonly metrics: ProxyMetrics;
  private served: string[] = [];
  private version = '';
  /** The last rejected edit (its config version and problems), so one edit is reported once. */
  private rejected = '';
  private stopWatching: (() => void) | null = null;
  private reloading: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /**
   * Reloads' compiler: its child is kept for a minute after each reload, so a burst of edits
   * starts one compile process. The first compile, at start, uses a child of its own that exits
   * right after: a proxy that is never edited carries no compiler.
   */
  private readonly compiler = new Compiler();

  constructor(paths: string[], log: Logger, metrics: ProxyMetrics) {
    this.paths = paths;
    this.log = log;
    this.metrics = metrics;
  }

  async start(apply: ApplyConfig): Promise<ProxyConfig> {
    const first = await compileInWorker({ paths: this.paths, served: [] }).catch((e: Error) => {
      throw new Error(`cannot compile the config: ${e.message}`);
    });
    if (first.errors.length > 0) throw new Error(first.errors.join('\n'));
    this.logRejected(first, 'warn');
    this.served = first.served;
    this.version = first.config.version;
    this.log.info({ files: first.files }, 'config files loaded');
    this.stopWatching = watchPaths(this.paths, 150, () => this.schedule(apply));
    return first.config;
  }

  stop(): void {
    this.stopped = true;
    this.stopWatching?.();
    this.compiler.close();
  }

  /** One reload at a time; a change during a reload triggers one more afterwards. */
  private schedule(apply: ApplyConfig): void {
    if (this.reloading) {
      this.again = true;
      return;
    }
    this.reloading = this.reload(apply)
      .catch((e: Error) => this.log.error({ err: e.message }, 'config reload failed: keeping the last good config'))
      .finally(() => {
        this.reloading = null;
        if (this.again) {
          this.again = false;
          this.schedule(apply);
        }
      });
  }

  private async reload(apply: ApplyConfig): Promise<void> {
    const next = await this.compiler.compile({ paths: this.paths, served: this.served });
    if (this.stopped) return;
    if (next.errors.length === 0 && next.config.version === this.version) return;
    if (!next.verdict.apply) {
      // The same files read again (a second watch event, an editor's second write of the same
      // bytes) are the same edit: it was reported already.
      const key = [next.config.version, ...next.verdict.problems].join('\n');
      if (key === this.rejected) {
        this.log.debug({ serving: this.version }, 'config change already rejected');
        return;
      }
      this.rejected = key;
      this.metrics.configReloads.labels('rejected').inc();
      this.log.error({ serving: this.version, problems: next.verdict.problems.length }, 'config change rejected: keeping the last good config');
      for (const p of next.errors) this.log.error({ reason: 'ParseError', message: p }, 'object rejected');
      this.logRejected(next, 'error', withoutConsequence);
      return;
    }
    this.rejected = '';
    this.logRejected(next, 'warn');
    this.served = next.served;
    this.version = next.config.version;
    await apply(next.config);
  }

  private logRejected(result: CompileOutcome, level: 'warn' | 'error', describe = (message: string) => message): void {
    for (const s of result.statuses) {
      for (const c of s.conditions) {
        if (c.status === 'False') {
          this.log[level]({ kind: s.kind, namespace: s.namespace, name: s.name, reason: c.reason, message: describe(c.message) }, 'object rejected');
        }
      }
    }
  }
}
