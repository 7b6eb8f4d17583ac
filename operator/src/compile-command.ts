import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compile, mergeResources, parseResourcesYaml, type ObjectStatus, type ProxyConfig, type Resources } from '@jairouter/crds';
import { listConfigFiles } from '@jairouter/crds/config-files';
import { stringify } from 'yaml';

export const COMPILE_USAGE = `Usage: jairouter-operator compile -f PATH [-f PATH ...]

Compiles ModelRoute, Tenant and RateLimitPolicy objects (plus the v1 Secrets, Services and
discovery.k8s.io/v1 EndpointSlices they reference) offline, exactly as the operator would,
and prints the resulting ProxyConfig and every object's status as YAML. Credentials and
API key hashes are shown as <redacted>. Nothing is sent to a cluster.

  -f, --filename PATH   multi-document YAML file, or a directory of *.yaml/*.yml files (read
                        in name order, not recursive, dotfiles skipped: the proxy's --config
                        rule); repeatable; - reads stdin
      --strict          exit 3 when any object is rejected or has unresolved references
                        (a pre-merge check for GitOps repositories)
  -h, --help            this text

Exit status: 0 when the files were read (even if objects are rejected: their status says
why, and a summary goes to stderr; with --strict, 3), 1 when a file cannot be read or
parsed or a directory holds no YAML file, 2 on bad usage.`;

export const REDACTED = '<redacted>';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => string;
  /** The files a -f path stands for: itself, or a directory's YAML files. */
  listFiles: (path: string) => string[];
}

const defaultIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readFileSync(p === '-' ? 0 : p, 'utf8'),
  listFiles: (p) => (p === '-' ? [p] : listConfigFiles([p])),
};

/** Runs `compile` with its arguments (after the word `compile`); returns the exit status. */
export function runCompileCommand(argv: string[], io: CommandIo = defaultIo): number {
  let files: string[];
  let strict = false;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { filename: { type: 'string', short: 'f', multiple: true }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      io.stdout(COMPILE_USAGE + '\n');
      return 0;
    }
    if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])} (files go after -f)`);
    files = values.filename ?? [];
    strict = values.strict === true;
    if (files.length === 0) throw new Error('at least one -f PATH is required');
  } catch (e) {
    io.stderr(`jairouter-operator compile: ${(e as Error).message}\n\n${COMPILE_USAGE}\n`);
    return 2;
  }

  const parts: Resources[] = [];
  const errors: string[] = [];
  const cannotRead = (path: string, e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    errors.push(`${path}: cannot read file${code ? ` (${code})` : ''}`);
  };
  const expanded: string[] = [];
  for (const path of files) {
    try {
      const found = io.listFiles(path);
      if (found.length === 0) errors.push(`${path}: a directory with no *.yaml or *.yml file`);
      expanded.push(...found);
    } catch (e) {
      cannotRead(path, e);
    }
  }
  for (const file of expanded) {
    let text: string;
    try {
      text = io.readFile(file);
    } catch (e) {
      cannotRead(file, e);
      continue;
    }
    const parsed = parseResourcesYaml(text, file);
    errors.push(...parsed.errors);
    parts.push(parsed.resources);
  }
  if (errors.length > 0) {
    // A half-read input would print a config that is not what the files say: refuse instead.
    io.stderr(`jairouter-operator compile: ${errors.length === 1 ? 'an input could not be read' : `${errors.length} inputs could not be read`}:\n`);
    for (const line of errors) io.stderr(`  ${line}\n`);
    return 1;
  }

  const { config, statuses } = compile(mergeResources(...parts));
  io.stdout(stringify({ config: redactConfig(config), status: statuses }, { lineWidth: 0 }));
  const summary = problemSummary(statuses);
  io.stderr(summary.length === 0
    ? `${statuses.length} object(s), all accepted with every reference resolved.\n`
    : `${statuses.length} object(s); ${summary.length} with problems:\n${summary.map((l) => `  ${l}\n`).join('')}`);
  return strict && summary.length > 0 ? 3 : 0;
}

/** The config with provider credentials and API key hashes replaced: this printout goes to terminals and CI logs. */
export function redactConfig(config: ProxyConfig): ProxyConfig {
  return {
    ...config,
    routes: config.routes.map((r) => ({
      ...r,
      backends: r.backends.map((b) => (b.credential === undefined ? b : { ...b, credential: REDACTED })),
    })),
    tenants: config.tenants.map((t) => ({ ...t, apiKeys: t.apiKeys.map((k) => ({ ...k, sha256: REDACTED })) })),
  };
}

/** One line per object whose Accepted or ResolvedRefs is not True, saying which condition and why. */
export function problemSummary(statuses: readonly ObjectStatus[]): string[] {
  const lines: string[] = [];
  for (const s of statuses) {
    const bad = s.conditions.filter((c) => c.status !== 'True');
    if (bad.length === 0) continue;
    const rejected = s.conditions.some((c) => c.type === 'Accepted' && c.status === 'False');
    const what = bad.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`).join(' | ');
    lines.push(`${s.kind} ${s.namespace}/${s.name}${rejected ? ' REJECTED' : ''}: ${what}`);
  }
  return lines;
}
