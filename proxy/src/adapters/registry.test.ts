import { describe, expect, it } from 'vitest';
import { IMPLEMENTED_ADAPTERS } from '@jairouter/crds';
import { supportedAdapters } from './index.ts';

describe('adapter registry', () => {
  it('implements exactly the adapters compile() accepts, so no accepted backend is skipped at runtime', () => {
    expect(supportedAdapters().sort()).toEqual([...IMPLEMENTED_ADAPTERS].sort());
  });
});
