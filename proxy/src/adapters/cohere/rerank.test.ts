import { describe, expect, it } from 'vitest';
import { UnsupportedRequest } from '../types.ts';
import { rerankFromCohere, rerankToCohere } from './rerank.ts';

describe('rerank to Cohere v2', () => {
  it('carries query, documents (objects by their text), top_n and max_tokens_per_doc; the backend\'s model', () => {
    const body = { model: 'client-name', query: 'q', documents: ['a', { text: 'b' }], top_n: 1, max_tokens_per_doc: 512, return_documents: true };
    expect(rerankToCohere(body, 'rerank-v3.5')).toEqual({ model: 'rerank-v3.5', query: 'q', documents: ['a', 'b'], top_n: 1, max_tokens_per_doc: 512 });
  });

  it('refuses what v2 cannot take, naming the member', () => {
    const refused = (body: Record<string, unknown>) => {
      try {
        rerankToCohere(body, 'm');
      } catch (e) {
        expect(e).toBeInstanceOf(UnsupportedRequest);
        return (e as UnsupportedRequest).field;
      }
      return null;
    };
    expect(refused({ query: 'q', documents: ['a'], rank_fields: ['title'] })).toBe('rank_fields');
    expect(refused({ query: 'q', documents: ['a'], max_chunks_per_doc: 3 })).toBe('max_chunks_per_doc');
    expect(refused({ query: 'q', documents: [{ text: 'a', title: 't' }] })).toBe('documents');
    expect(refused({ query: 'q', documents: [{ title: 't' }] })).toBe('documents');
    expect(refused({ query: 'q', documents: ['a'], rank_fields: null })).toBeNull();
  });

  it('answers with Cohere\'s results and meta, adding documents only when asked', () => {
    const r = { id: 'x', results: [{ index: 1, relevance_score: 0.9 }, { index: 0, relevance_score: 0.1 }], meta: { billed_units: { search_units: 1 } } };
    const docs = ['first', { text: 'second' }];
    expect(rerankFromCohere(r, { documents: docs })).toEqual({ id: 'x', results: [{ index: 1, relevance_score: 0.9 }, { index: 0, relevance_score: 0.1 }], meta: { billed_units: { search_units: 1 } } });
    expect(rerankFromCohere(r, { documents: docs, return_documents: true }).results).toEqual([
      { index: 1, relevance_score: 0.9, document: { text: 'second' } },
      { index: 0, relevance_score: 0.1, document: { text: 'first' } },
    ]);
  });
});
