import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { GraphQLJSONObject } from 'graphql-scalars';

/** Date (YYYY-MM-DD), DateTime (ISO 8601), Decimal (exact, as a string) and JSONObject (graphql-scalars) scalars. */
const isoDate = /^\d{4}-\d{2}-\d{2}$/;

function toDateString(v: unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'string' && isoDate.test(v.slice(0, 10))) return v.slice(0, 10);
  throw new GraphQLError(`Date cannot represent ${JSON.stringify(v)}`);
}

export const DateScalar = new GraphQLScalarType({
  name: 'Date',
  serialize: toDateString,
  parseValue(v) {
    if (typeof v !== 'string' || !isoDate.test(v))
      throw new GraphQLError('Date must be a string YYYY-MM-DD', { extensions: { code: 'BAD_USER_INPUT' } });
    return v;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || !isoDate.test(ast.value))
      throw new GraphQLError('Date must be a string YYYY-MM-DD', { extensions: { code: 'BAD_USER_INPUT' } });
    return ast.value;
  },
});

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize(v) {
    const d = v instanceof Date ? v : new Date(String(v));
    if (Number.isNaN(d.getTime())) throw new GraphQLError(`DateTime cannot represent ${JSON.stringify(v)}`);
    return d.toISOString();
  },
  parseValue(v) {
    const d = new Date(String(v));
    if (typeof v !== 'string' || Number.isNaN(d.getTime()))
      throw new GraphQLError('DateTime must be an ISO 8601 string', { extensions: { code: 'BAD_USER_INPUT' } });
    return d;
  },
});

export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  serialize(v) {
    return typeof v === 'string' ? v : String(v);
  },
  parseValue(v) {
    if (typeof v !== 'string' || !/^-?\d+(\.\d+)?$/.test(v))
      throw new GraphQLError('Decimal must be a string such as "1234.50"', { extensions: { code: 'BAD_USER_INPUT' } });
    return v;
  },
});

/** A JSON object in and out (alert evidence, rule parameters): graphql-scalars' JSONObject, described for the hub. */
export const JSONObjectScalar = new GraphQLScalarType({
  ...GraphQLJSONObject.toConfig(),
  description: 'A JSON object, sent and returned as JSON (not as a string holding JSON).',
});
