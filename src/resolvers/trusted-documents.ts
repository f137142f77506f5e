import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type express from 'express';

/**
 * Trusted documents (a persisted-operation allow-list), an option a deployment switches on for its channel apps
 * with `HUB_TRUSTED_DOCUMENTS=manifest.json`: the operations the apps were built with, as `{ "<sha256>":
 * "<document>" }` (GraphQL Code Generator's persisted-documents format). A request then names its operation by
 * hash — `documentId`, or Apollo's `extensions.persistedQuery.sha256Hash` — or sends a document whose hash is in
 * the manifest; any other document is refused before it is parsed (UNTRUSTED_DOCUMENT), so a stolen token can
 * run only what the apps run.
 */
export type TrustedDocuments = ReadonlyMap<string, string>;

export const documentHash = (document: string): string => createHash('sha256').update(document).digest('hex');

export function loadTrustedDocuments(path: string): TrustedDocuments {
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest))
    throw new Error(`${path}: expected an object of sha256 → document`);
  const docs = new Map<string, string>();
  for (const [hash, doc] of Object.entries(manifest as Record<string, unknown>)) {
    if (typeof doc !== 'string' || documentHash(doc) !== hash)
      throw new Error(`${path}: the entry ${hash.slice(0, 12)}… is not the sha256 of its document`);
    docs.set(hash, doc);
  }
  return docs;
}

/**
 * Express middleware in front of Apollo: resolves named operations and refuses untrusted documents, in a POST
 * body or in a GET's query string.
 */
export function requireTrustedDocuments(docs: TrustedDocuments): express.RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET') return trustedGet(docs, req, res, next);
    const body = (req.body ?? {}) as {
      query?: unknown;
      documentId?: unknown;
      extensions?: { persistedQuery?: { sha256Hash?: unknown } };
    };
    const id = body.documentId ?? body.extensions?.persistedQuery?.sha256Hash;
    const refuse = (message: string) =>
      res.status(400).json({ errors: [{ message, extensions: { code: 'UNTRUSTED_DOCUMENT' } }] });
    if (typeof id === 'string') {
      const doc = docs.get(id);
      if (doc === undefined) return refuse('no trusted document has this id');
      body.query = doc;
      delete body.documentId;
      if (body.extensions) delete body.extensions.persistedQuery;
      return next();
    }
    if (typeof body.query === 'string' && docs.has(documentHash(body.query))) return next();
    return refuse('this hub only runs trusted documents: send a documentId from the manifest');
  };
}

function trustedGet(docs: TrustedDocuments, req: express.Request, res: express.Response, next: express.NextFunction) {
  const url = new URL(req.url, 'http://hub');
  const params = url.searchParams;
  const refuse = (message: string) =>
    res.status(400).json({ errors: [{ message, extensions: { code: 'UNTRUSTED_DOCUMENT' } }] });
  let extensions: { persistedQuery?: { sha256Hash?: unknown } } | null = null;
  try {
    extensions = params.has('extensions') ? JSON.parse(params.get('extensions') ?? '') : null;
  } catch {
    return refuse('the extensions parameter is not JSON');
  }
  const id = params.get('documentId') ?? extensions?.persistedQuery?.sha256Hash;
  if (typeof id === 'string') {
    const doc = docs.get(id);
    if (doc === undefined) return refuse('no trusted document has this id');
    params.set('query', doc);
    params.delete('documentId');
    if (extensions?.persistedQuery) {
      delete extensions.persistedQuery;
      params.set('extensions', JSON.stringify(extensions));
    }
    // Apollo reads a GET's parameters from the URL.
    req.url = `${url.pathname}${url.search}`;
    return next();
  }
  const query = params.get('query');
  if (query !== null && docs.has(documentHash(query))) return next();
  return refuse('this hub only runs trusted documents: send a documentId from the manifest');
}
