/** A GraphQL-over-HTTP client for tests: what a channel app does, nothing more. */
export type GraphQLResponse<T = Record<string, unknown>> = {
  status: number;
  sqlStatements: number | null;
  data: T | null;
  errors:
    | { message: string; path?: (string | number)[]; extensions?: { code?: string } & Record<string, unknown> }[]
    | undefined;
};

export async function gql<T = any>(
  url: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T | null; errors?: GraphQLResponse['errors'] };
  const header = res.headers.get('x-sql-statements');
  return {
    status: res.status,
    sqlStatements: header === null ? null : Number(header),
    data: body.data ?? null,
    errors: body.errors,
  };
}

/** Polls until `check` returns a value (not undefined) or the timeout passes; for eventually-consistent ingest. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
