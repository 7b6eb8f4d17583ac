/** Model-name patterns: exact names, `prefix*`, and `*` for everything. */
export class ModelMatcher {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];
  private readonly all: boolean;

  constructor(patterns: readonly string[]) {
    let all = false;
    for (const p of patterns) {
      if (p === '*') all = true;
      else if (p.endsWith('*')) this.prefixes.push(p.slice(0, -1));
      else this.exact.add(p);
    }
    this.all = all;
  }

  matches(model: string): boolean {
    if (this.all || this.exact.has(model)) return true;
    for (const p of this.prefixes) if (model.startsWith(p)) return true;
    return false;
  }
}

/** Model name -> value: exact names first, then the longest matching prefix pattern. */
export class ModelIndex<T> {
  private readonly exact = new Map<string, T>();
  private prefixes: Array<[string, T]> = [];

  add(pattern: string, value: T): void {
    if (pattern.endsWith('*')) this.prefixes.push([pattern.slice(0, -1), value]);
    else this.exact.set(pattern, value);
  }

  seal(): this {
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
    return this;
  }

  get(model: string): T | undefined {
    const v = this.exact.get(model);
    if (v !== undefined) return v;
    for (const [p, val] of this.prefixes) if (model.startsWith(p)) return val;
    return undefined;
  }

  exactNames(): string[] {
    return [...this.exact.keys()];
  }
}
