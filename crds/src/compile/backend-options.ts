import type { ModelRouteSpec } from '../api/model-route.ts';
import { ADAPTER_OPTIONS, findAdapterOption } from '../implemented-adapters.ts';
import { compareStrings } from './order.ts';
import type { Problem } from './status.ts';

/** RFC 9110 token: what Node accepts as a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Headers the proxy sets on every upstream request (framing, routing, what it accepts): an
 * option naming one would corrupt the request, so compile() refuses it.
 */
const MANAGED_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding', 'host', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'accept', 'x-request-id']);
/** What Node accepts in a header value: no control characters but tab. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Options a backend's adapter does not read (UnsupportedOption), could not use or requires
 * but lacks (InvalidOption), in spec order; each message starts with the field path. A backend whose
 * adapter this release lacks is skipped with UnsupportedAdapter instead, so its options are
 * not looked at.
 */
export function checkBackendOptions(spec: ModelRouteSpec): Problem[] {
  const problems: Problem[] = [];
  spec.backends.forEach((b, i) => {
    const known = ADAPTER_OPTIONS[b.adapter];
    if (!known) return;
    const options = b.options ?? {};
    // Sorted: the message must not depend on how the user ordered a map.
    for (const key of Object.keys(options).sort(compareStrings)) {
      const value = options[key]!;
      const at = `spec.backends[${i}].options.${key}`;
      const option = findAdapterOption(known, key);
      if (!option) {
        const reads = known.map((o) => o.key).join(', ');
        problems.push({ reason: 'UnsupportedOption', message: `${at}: adapter "${b.adapter}" does not read this option (it reads ${reads})` });
        continue;
      }
      const why = option.values && !option.values.includes(String(value)) ? `must be one of ${option.values.join(', ')}`
        : option.onlyWith && options[option.onlyWith.key] !== option.onlyWith.value ? `adapter "${b.adapter}" reads this option only with ${option.onlyWith.key}: ${option.onlyWith.value}`
        : invalidValue(option.key, key, value, option.type, option.becomes);
      if (why) problems.push({ reason: 'InvalidOption', message: `${at}: ${why}` });
    }
    for (const o of known) {
      if (o.required && options[o.key] === undefined) {
        problems.push({ reason: 'InvalidOption', message: `spec.backends[${i}].options.${o.key}: adapter "${b.adapter}" requires this option` });
      }
    }
  });
  return problems;
}

function invalidValue(documented: string, key: string, value: string | number | boolean, type: 'string' | 'scalar', becomes: 'header-name' | 'header-value' | 'text'): string | undefined {
  if (documented.endsWith('<Name>')) {
    const name = key.slice(documented.length - '<Name>'.length);
    if (!HEADER_NAME.test(name)) return `"${name}" is not an HTTP header name`;
    if (MANAGED_HEADERS.has(name.toLowerCase())) return `"${name}" is set by the proxy on every upstream request and cannot be overridden`;
  }
  if (type === 'string' && typeof value !== 'string') return `must be a string, not a ${typeof value}`;
  const text = String(value);
  if (becomes === 'header-name' && !HEADER_NAME.test(text)) return 'must be an HTTP header name';
  if (becomes === 'header-name' && MANAGED_HEADERS.has(text.toLowerCase())) return `"${text}" is set by the proxy on every upstream request and cannot carry the credential`;
  if (becomes !== 'header-name' && !HEADER_VALUE.test(text)) return 'must not hold control characters (it is sent in a header)';
  return undefined;
}
